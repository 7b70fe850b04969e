"""Detection: box datasets (COCO, VOC, YOLO folders and the generated built-in set) read and checked safely,
Kornia augmentation that moves boxes with the pixels."""

from __future__ import annotations

from workers.detection.config import BUILTIN, BoxData, BoxDatasetConfig, BoxFormat, BoxSource, BoxSplit
from workers.detection.errors import AnnotationError

__all__ = [
    "BUILTIN",
    "AnnotationError",
    "BoxData",
    "BoxDatasetConfig",
    "BoxFormat",
    "BoxSource",
    "BoxSplit",
]
