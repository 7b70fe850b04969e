"""Detection: box datasets (COCO, VOC, YOLO folders and the generated built-in set) read and checked safely,
Kornia augmentation that moves boxes with the pixels, SSD and YOLOX losses, COCO mAP (pycocotools), training a
DetectorSpec (``fit_detector``) and the ``train-detector`` command."""

from __future__ import annotations

from workers.detection.config import (
    BUILTIN,
    BoxData,
    BoxDatasetConfig,
    BoxFormat,
    BoxSource,
    BoxSplit,
    clear_box_cache,
)
from workers.detection.errors import AnnotationError
from workers.detection.fit import (
    RECIPE_DEFAULTS,
    DetectionEpoch,
    DetectionResult,
    detection_loss,
    evaluate_map,
    fit_detector,
    fitted,
)
from workers.detection.metrics import Detections, coco_map, postprocess
from workers.detection.train_cli import add_detector_flags, train_detector_command

__all__ = [
    "BUILTIN",
    "RECIPE_DEFAULTS",
    "AnnotationError",
    "BoxData",
    "BoxDatasetConfig",
    "BoxFormat",
    "BoxSource",
    "BoxSplit",
    "DetectionEpoch",
    "DetectionResult",
    "Detections",
    "add_detector_flags",
    "clear_box_cache",
    "coco_map",
    "detection_loss",
    "evaluate_map",
    "fit_detector",
    "fitted",
    "postprocess",
    "train_detector_command",
]
