"""Box geometry on (x1, y1, x2, y2) tensors: pairwise and element-wise IoU and GIoU in plain torch (the
libraries that have them here either import torchvision, as torchmetrics' detection functions do, or assert on
degenerate boxes, as Kornia's ``mean_iou_bbox``, which predicted boxes early in training are), and per-class
NMS on Kornia's ``nms``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

EPS = 1e-7


def area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[..., 2] - boxes[..., 0]).clamp_min(0) * (boxes[..., 3] - boxes[..., 1]).clamp_min(0)


def _iou_parts(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(intersection, union) of broadcastable boxes ``a`` and ``b``."""
    wh = (a[..., 2:].minimum(b[..., 2:]) - a[..., :2].maximum(b[..., :2])).clamp_min(0)
    inter = wh[..., 0] * wh[..., 1]
    return inter, area(a) + area(b) - inter


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every pair: (n, 4) x (m, 4) -> (n, m)."""
    inter, union = _iou_parts(a[:, None], b[None])
    return inter / (union + EPS)


def generalized_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """GIoU (Rezatofighi et al. 2019) of every pair: IoU - (enclosing area - union) / enclosing area."""
    return paired_giou(a[:, None], b[None])


def paired_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of corresponding boxes (broadcast)."""
    inter, union = _iou_parts(a, b)
    return inter / (union + EPS)


def paired_giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """GIoU of corresponding boxes (broadcast), in [-1, 1]."""
    inter, union = _iou_parts(a, b)
    lo = a[..., :2].minimum(b[..., :2])
    hi = a[..., 2:].maximum(b[..., 2:])
    enclosing = (hi - lo).clamp_min(0).prod(-1)
    return inter / (union + EPS) - (enclosing - union) / (enclosing + EPS)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices kept by NMS run per class (Kornia's ``nms`` once, on boxes offset apart by class), by
    descending score."""
    from kornia.geometry.bbox import nms

    if boxes.numel() == 0:
        return classes.new_zeros(0, dtype=classes.dtype)
    offsets = classes.to(boxes.dtype)[:, None] * (boxes.max() + 1)
    return nms(boxes + offsets, scores, iou_threshold)
