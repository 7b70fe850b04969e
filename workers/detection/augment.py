"""Training-time augmentation of images with their boxes, with Kornia's ``AugmentationSequential``
(``data_keys=["input", "bbox_xyxy"]``): random-resized crop, horizontal flip and colour jitter. Boxes move
with the pixels; those cut by the crop are clipped to the image and dropped when less than ``MIN_VISIBLE`` of
their area (or less than a pixel of a side) is left.

Kornia transforms box corners as pixel-centre coordinates (its flips map x to W - 1 - x); our boxes have
exclusive ends on pixel edges, so they are shifted by half a pixel into Kornia's frame and back. Every random
draw comes from torch's global generator (seeded by the recipe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

MIN_VISIBLE = 0.3


def box_pipeline(resolution: int, crop_scale: float, flip: bool, jitter: bool) -> nn.Module | None:
    """The Kornia sequence (None when it would do nothing)."""
    import kornia.augmentation as K

    steps: list[nn.Module] = []
    if crop_scale < 1.0:
        steps.append(K.RandomResizedCrop((resolution, resolution), scale=(crop_scale, 1.0)))
    if flip:
        steps.append(K.RandomHorizontalFlip())
    if jitter:
        steps.append(K.ColorJiggle(0.3, 0.3, 0.3, 0.03, p=0.8))
    if not steps:
        return None
    return K.AugmentationSequential(*steps, data_keys=["input", "bbox_xyxy"])


def augment_boxes(pipeline: nn.Module | None, images: torch.Tensor, boxes: list[torch.Tensor],
                  labels: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """``images`` (N, C, R, R) in [0, 1], boxes (n, 4) in pixels and labels per image -> the same, augmented."""
    if pipeline is None:
        return images, boxes, labels
    size = images.shape[-1]
    chans = images.shape[1]
    if chans == 1:
        images = images.expand(-1, 3, -1, -1)
    shifted = [b - 0.5 if len(b) else b.new_zeros((0, 4)) for b in boxes]
    out, moved = pipeline(images, shifted)
    if chans == 1:
        out = out.mean(1, keepdim=True)
    kept_boxes, kept_labels = [], []
    for b, lab in zip(moved, labels, strict=True):
        b = b.reshape(-1, 4) + 0.5
        clipped = b.clamp(0.0, float(size))
        area = (b[:, 2:] - b[:, :2]).prod(1)
        sides = clipped[:, 2:] - clipped[:, :2]
        keep = (sides >= 1.0).all(1) & (sides.prod(1) >= MIN_VISIBLE * area)
        kept_boxes.append(clipped[keep])
        kept_labels.append(lab[keep])
    return out.clamp_(0.0, 1.0), kept_boxes, kept_labels
