"""YOLOX's training target and loss (Ge et al. 2021), anchor-free on the detector's grid.

Assignment is SimOTA, as YOLOX's: the candidates of a ground truth are the locations whose cell centre is in
its box or within 2.5 strides of its centre; their cost is the class BCE of sigmoid(class) x sigmoid(objectness)
against the ground truth's class plus 3 x -log(IoU) of the predicted box, plus 1e5 unless the location is in
both regions; each ground truth takes its dynamic k lowest-cost locations (k = the sum of its 10 best IoUs,
at least 1), and a location claimed by two keeps the cheaper. Loss, divided by the number of assigned
locations: 5 x GIoU loss (1 - GIoU) of the assigned boxes, BCE of the objectness of every location (1 where
assigned) and BCE of the assigned locations' classes against one-hot x IoU (YOLOX's IoU-aware target).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.detection.boxes import box_iou, paired_giou

if TYPE_CHECKING:
    import torch

CENTRE_RADIUS = 2.5
BOX_WEIGHT = 5.0
TOP_IOUS = 10


def decode_raw(deltas: torch.Tensor, cells: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
    """Predicted boxes (x1, y1, x2, y2) in pixels, unclipped: the GridDecoder's formula."""
    import torch

    centre = (deltas[..., :2] + cells) * strides
    size = torch.exp(deltas[..., 2:].clamp(max=10.0)) * strides
    return torch.cat([centre - size / 2, centre + size / 2], -1)


def simota(pred: torch.Tensor, scores: torch.Tensor, centres: torch.Tensor, strides: torch.Tensor,
           gt: torch.Tensor, gt_labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(assigned ground truth per location, -1 for none; IoU of each location's box with its ground truth)."""
    import torch
    import torch.nn.functional as F

    n = len(pred)
    assigned = torch.full((n,), -1, dtype=torch.long, device=pred.device)
    if len(gt) == 0:
        return assigned, pred.new_zeros(n)
    x, y = centres[:, 0], centres[:, 1]
    in_box = (x > gt[:, None, 0]) & (x < gt[:, None, 2]) & (y > gt[:, None, 1]) & (y < gt[:, None, 3])
    gt_centre = (gt[:, :2] + gt[:, 2:]) / 2
    r = CENTRE_RADIUS * strides[:, 0]
    in_centre = ((x - gt_centre[:, None, 0]).abs() < r) & ((y - gt_centre[:, None, 1]).abs() < r)
    candidate = (in_box | in_centre).any(0)
    if not candidate.any():
        return assigned, pred.new_zeros(n)
    idx = candidate.nonzero().squeeze(1)
    iou = box_iou(gt, pred[idx])  # (G, c)
    one_hot = F.one_hot(gt_labels, scores.shape[1]).to(scores.dtype)
    p = scores[idx].clamp(1e-6, 1 - 1e-6)
    cls_cost = F.binary_cross_entropy(p[None].expand(len(gt), -1, -1), one_hot[:, None].expand(-1, len(idx), -1),
                                      reduction="none").sum(-1)
    both = (in_box & in_centre)[:, idx]
    cost = cls_cost + 3.0 * -torch.log(iou + 1e-8) + 1e5 * (~both)
    cost = torch.where((in_box | in_centre)[:, idx], cost, torch.full_like(cost, 1e9))
    top = iou.topk(min(TOP_IOUS, len(idx)), 1).values
    ks = top.sum(1).int().clamp_min(1).tolist()
    chosen = torch.zeros_like(cost, dtype=torch.bool)
    for g, k in enumerate(ks):
        chosen[g, cost[g].topk(min(k, len(idx)), largest=False).indices] = True
    cost = torch.where(chosen, cost, torch.full_like(cost, float("inf")))
    best_cost, best_gt = cost.min(0)
    fg = torch.isfinite(best_cost)
    assigned[idx[fg]] = best_gt[fg]
    ious = pred.new_zeros(n)
    ious[idx[fg]] = iou[best_gt[fg], fg.nonzero().squeeze(1)]
    return assigned, ious


def yolox_loss(logits: torch.Tensor, deltas: torch.Tensor, cells: torch.Tensor, strides: torch.Tensor,
               boxes: list[torch.Tensor], labels: list[torch.Tensor]) -> torch.Tensor:
    """The YOLOX loss of a batch: ``logits`` (B, A, classes + 1) (objectness last), ``deltas`` (B, A, 4), the
    grid's ``cells`` (A, 2) and ``strides`` (A, 1), per image ground truths in pixels and labels (from 0)."""
    import torch
    import torch.nn.functional as F

    pred = decode_raw(deltas, cells, strides)
    centres = (cells + 0.5) * strides
    obj_target = torch.zeros(logits.shape[:2], device=logits.device)
    box_loss = cls_loss = logits.sum() * 0.0
    num_fg = 0
    for b in range(len(boxes)):
        with torch.no_grad():
            scores = torch.sigmoid(logits[b, :, :-1]) * torch.sigmoid(logits[b, :, -1:])
            assigned, ious = simota(pred[b].detach(), scores, centres, strides, boxes[b], labels[b])
        fg = assigned >= 0
        if not fg.any():
            continue
        num_fg += int(fg.sum())
        obj_target[b, fg] = 1.0
        gt = boxes[b][assigned[fg]]
        box_loss = box_loss + (1.0 - paired_giou(pred[b][fg], gt)).sum()
        target = F.one_hot(labels[b][assigned[fg]], logits.shape[-1] - 1).to(logits.dtype) * ious[fg, None]
        cls_loss = cls_loss + F.binary_cross_entropy_with_logits(logits[b, fg, :-1], target, reduction="sum")
    obj_loss = F.binary_cross_entropy_with_logits(logits[..., -1], obj_target, reduction="sum")
    return (BOX_WEIGHT * box_loss + obj_loss + cls_loss) / max(1, num_fg)
