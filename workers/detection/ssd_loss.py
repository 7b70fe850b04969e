"""SSD's training target and loss (Liu et al. 2016, section 2.2), as torchvision's SSD computes them.

Matching: a default box is matched to the ground truth it overlaps most when that IoU is at least 0.5; then
each ground truth's best default box is matched to it whatever the IoU (so that every object has one). Matched
boxes are encoded against their default box as offsets with variances (weights 10, 10, 5, 5:
dx = 10 (gx - px) / pw, dw = 5 log(gw / pw)), the inverse of the detector's ``BoxDecoder``. Loss: smooth L1 on
the offsets of the matched boxes plus softmax cross-entropy on the classes (background 0) of the matched boxes
and of the hardest unmatched ones, three negatives per positive (hard negative mining), both summed and divided
by the number of matched boxes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.detection.boxes import box_iou

if TYPE_CHECKING:
    import torch

IOU_THRESHOLD = 0.5
NEG_POS_RATIO = 3
WEIGHTS = (10.0, 10.0, 5.0, 5.0)


def xyxy(cxcywh: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.cat([cxcywh[..., :2] - cxcywh[..., 2:] / 2, cxcywh[..., :2] + cxcywh[..., 2:] / 2], -1)


def match(priors: torch.Tensor, gt: torch.Tensor, threshold: float = IOU_THRESHOLD) -> torch.Tensor:
    """Per default box (cx, cy, w, h) the index of its ground truth (x1, y1, x2, y2), -1 for background."""
    import torch

    if len(gt) == 0:
        return torch.full((len(priors),), -1, dtype=torch.long, device=priors.device)
    iou = box_iou(gt, xyxy(priors))  # (G, A)
    best_iou, best_gt = iou.max(0)
    matches = torch.where(best_iou >= threshold, best_gt, torch.full_like(best_gt, -1))
    matches[iou.argmax(1)] = torch.arange(len(gt), device=gt.device)
    return matches


def encode(gt: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """Offsets of boxes ``gt`` (x1, y1, x2, y2) from their default boxes (cx, cy, w, h), with SSD's variances."""
    import torch

    wx, wy, ww, wh = WEIGHTS
    size = gt[:, 2:] - gt[:, :2]
    centre = gt[:, :2] + size / 2
    d_xy = (centre - priors[:, :2]) / priors[:, 2:] * torch.tensor([wx, wy], device=gt.device)
    d_wh = torch.log(size / priors[:, 2:]) * torch.tensor([ww, wh], device=gt.device)
    return torch.cat([d_xy, d_wh], 1)


def ssd_loss(logits: torch.Tensor, deltas: torch.Tensor, priors: torch.Tensor, boxes: list[torch.Tensor],
             labels: list[torch.Tensor]) -> torch.Tensor:
    """The SSD loss of a batch: ``logits`` (B, A, classes + 1), ``deltas`` (B, A, 4), ``priors`` (A, 4) cx, cy,
    w, h in pixels, per image ground-truth boxes in pixels and object-class labels (from 0)."""
    import torch
    import torch.nn.functional as F

    targets, box_losses = [], []
    for b in range(len(boxes)):
        m = match(priors, boxes[b])
        fg = m >= 0
        cls = torch.zeros(len(priors), dtype=torch.long, device=logits.device)
        cls[fg] = labels[b][m[fg]] + 1
        targets.append(cls)
        if fg.any():
            target = encode(boxes[b][m[fg]], priors[fg])
            box_losses.append(F.smooth_l1_loss(deltas[b][fg], target, reduction="sum"))
    target = torch.stack(targets)
    ce = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").view_as(target)
    fg = target > 0
    num_fg = fg.sum(1, keepdim=True)
    negative = ce.clone()
    negative[fg] = -float("inf")
    order = negative.sort(1, descending=True).indices
    rank = order.sort(1).indices
    hard = rank < NEG_POS_RATIO * num_fg
    n = max(1, int(num_fg.sum()))
    box_loss = torch.stack(box_losses).sum() if box_losses else deltas.sum() * 0.0
    return (box_loss + ce[fg].sum() + ce[hard].sum()) / n
