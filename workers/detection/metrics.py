"""Detections from a detector's decoded outputs (score threshold, top candidates, per-class NMS) and COCO's
mAP@[.5:.95] and mAP@.5 of them, computed by pycocotools' COCOeval (not by hand)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.detection.boxes import batched_nms

if TYPE_CHECKING:
    import torch

SCORE_THRESHOLD = 0.01
NMS_IOU = 0.45
CANDIDATES = 400
PER_IMAGE = 100


@dataclass(frozen=True)
class Detections:
    """One image's kept detections: boxes (n, 4) in pixels, scores (n,), object-class labels (n,)."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def postprocess(boxes: torch.Tensor, scores: torch.Tensor) -> list[Detections]:
    """Per image of decoded ``boxes`` (B, A, 4) and ``scores`` (B, A, classes): the (box, class) pairs scoring
    at least SCORE_THRESHOLD, the CANDIDATES best, per-class NMS at NMS_IOU, the PER_IMAGE best."""
    out = []
    classes = scores.shape[-1]
    for b in range(len(boxes)):
        flat = scores[b].flatten()
        keep = (flat >= SCORE_THRESHOLD).nonzero().squeeze(1)
        keep = keep[flat[keep].topk(min(CANDIDATES, len(keep))).indices]
        box, score, label = boxes[b][keep // classes], flat[keep], keep % classes
        kept = batched_nms(box, score, label, NMS_IOU)[:PER_IMAGE]
        out.append(Detections(box[kept], score[kept], label[kept]))
    return out


def coco_map(detections: list[Detections], boxes: list[torch.Tensor], labels: list[torch.Tensor],
             size: tuple[int, int], num_classes: int) -> tuple[float, float]:
    """(mAP@[.5:.95], mAP@.5) of ``detections`` against the ground truths, images of ``size`` (width,
    height), by pycocotools; 0.0 when nothing was detected or there is nothing to detect."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for i, (det, gt_boxes, gt_labels) in enumerate(zip(detections, boxes, labels, strict=True)):
        images.append({"id": i, "width": size[0], "height": size[1]})
        for box, label in zip(gt_boxes.tolist(), gt_labels.tolist(), strict=True):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": label + 1,
                                "bbox": [box[0], box[1], w, h], "area": w * h, "iscrowd": 0})
        for box, score, label in zip(det.boxes.tolist(), det.scores.tolist(), det.labels.tolist(), strict=True):
            results.append({"image_id": i, "category_id": label + 1, "score": score,
                            "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
    if not annotations or not results:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": c + 1, "name": str(c)} for c in range(num_classes)]}
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return max(0.0, float(evaluation.stats[0])), max(0.0, float(evaluation.stats[1]))
