"""Box geometry, augmentation alignment, SSD matching and loss, YOLOX assignment, COCO mAP: known values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from searchspace.nn.detector import BoxDecoder
from workers.detection import Detections, coco_map, postprocess
from workers.detection.augment import augment_boxes, box_pipeline
from workers.detection.boxes import batched_nms, box_iou, generalized_box_iou, paired_giou
from workers.detection.ssd_loss import encode, match, ssd_loss
from workers.detection.yolox_loss import simota, yolox_loss


def test_iou_and_giou_known_values() -> None:
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 1, 3, 3], [4, 4, 5, 5], [0, 0, 2, 2]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1 / 7, 0.0, 1.0]]))
    # enclosing boxes: 3x3 = 9 (union 7), 5x5 = 25 (union 5), the box itself
    torch.testing.assert_close(generalized_box_iou(a, b), torch.tensor([[1 / 7 - 2 / 9, -20 / 25, 1.0]]))
    torch.testing.assert_close(paired_giou(b, b), torch.ones(3))


def test_nms_per_class_known_values() -> None:
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    # box 1 overlaps box 0 (IoU 0.81) in the same class: suppressed; box 2 is of another class: kept
    assert batched_nms(boxes, scores, torch.tensor([0, 0, 1, 0]), 0.5).tolist() == [0, 2, 3]
    assert batched_nms(boxes, scores, torch.tensor([0, 0, 1, 0]), 0.9).tolist() == [0, 1, 2, 3]


def test_ssd_matching_hand_computed() -> None:
    priors = torch.tensor([[10.0, 10, 10, 10], [30, 30, 20, 20], [50, 50, 10, 10], [12, 10, 10, 10]])
    gt = torch.tensor([[5.0, 5, 15, 15], [44, 44, 50, 50]])
    # prior 0 = gt 0 (IoU 1); prior 3 overlaps gt 0 by 80 / 120 = 0.67 >= 0.5; prior 2 overlaps gt 1 by
    # 25 / 111 = 0.23 only, but is gt 1's best prior; prior 1 overlaps nothing
    assert match(priors, gt).tolist() == [0, -1, 1, 0]
    assert match(priors, gt[:0]).tolist() == [-1, -1, -1, -1]
    deltas = encode(gt[[0, 1]], priors[[0, 2]])
    torch.testing.assert_close(deltas, torch.tensor([[0.0, 0, 0, 0], [-3.0, -3.0, 5 * math.log(0.6), 5 * math.log(0.6)]]))
    decoder = BoxDecoder(64, (1,), (0.5, 1.0), ())
    decoder.priors = priors[[0, 2]]
    boxes, _ = decoder(torch.zeros(1, 2, 2), deltas[None])
    torch.testing.assert_close(boxes[0], gt)  # the detector's decoder inverts the encoding


def test_ssd_loss_mines_three_negatives_per_positive() -> None:
    priors = torch.tensor([[10.0 + 10 * i, 10, 10, 10] for i in range(8)])
    gt, label = torch.tensor([[5.0, 5, 15, 15]]), torch.tensor([1])
    logits = torch.randn(1, 8, 3, generator=torch.Generator().manual_seed(0))
    deltas = torch.full((1, 8, 4), 0.5)
    ce = F.cross_entropy(logits[0], torch.tensor([2] + [0] * 7), reduction="none")
    expected = F.smooth_l1_loss(deltas[0, 0], torch.zeros(4), reduction="sum") + ce[0] + ce[1:].topk(3).values.sum()
    torch.testing.assert_close(ssd_loss(logits, deltas, priors, [gt], [label]), expected)


def test_simota_assigns_locations_near_the_object() -> None:
    size, stride = 8, 8
    y, x = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)), indexing="ij")
    cells = torch.stack([x.flatten(), y.flatten()], 1)
    strides = torch.full((size * size, 1), float(stride))
    centres = (cells + 0.5) * strides
    gt = torch.tensor([[16.0, 16, 40, 40]])
    pred = torch.cat([centres - 12, centres + 12], 1)  # every location predicts a 24 px box on itself
    assigned, ious = simota(pred, torch.full((64, 2), 0.5), centres, strides, gt, torch.tensor([1]))
    chosen = assigned == 0
    assert 1 <= int(chosen.sum()) <= 10
    assert ((centres[chosen] > 16) & (centres[chosen] < 40)).all()
    assert ious[chosen].max() == 1.0  # the location centred on the object predicts it exactly
    logits = torch.zeros(1, 64, 3, requires_grad=True)
    loss = yolox_loss(logits, torch.zeros(1, 64, 4, requires_grad=True), cells, strides, [gt], [torch.tensor([1])])
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None and logits.grad.abs().sum() > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_augmentation_keeps_boxes_on_their_pixels(seed: int) -> None:
    torch.manual_seed(seed)
    n, size = 16, 64
    images = torch.zeros(n, 3, size, size)
    boxes, labels = [], []
    for i in range(n):
        x1, y1 = torch.randint(2, 36, (2,)).tolist()
        w, h = torch.randint(8, 24, (2,)).tolist()
        images[i, :, y1:y1 + h, x1:x1 + w] = 1.0
        boxes.append(torch.tensor([[x1, y1, x1 + w, y1 + h]], dtype=torch.float32))
        labels.append(torch.tensor([i % 3]))
    out, moved, kept = augment_boxes(box_pipeline(size, 0.4, True, False), images, boxes, labels)
    assert out.shape == images.shape
    checked = 0
    for i in range(n):
        pixels = (out[i, 0] > 0.5).nonzero()
        if len(moved[i]) == 0:
            continue
        assert kept[i].tolist() == [i % 3]
        ys, xs = pixels[:, 0], pixels[:, 1]
        covered = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
        torch.testing.assert_close(moved[i][0], covered, atol=1.0, rtol=0)
        checked += 1
    assert checked >= n // 2
    for b in moved:  # what is kept lies in the image, at least a pixel on each side
        assert ((b >= 0) & (b <= size)).all() and (b[:, 2:] - b[:, :2] >= 1).all()


def test_map_of_perfect_and_shifted_predictions() -> None:
    gt = [torch.tensor([[10.0, 10, 30, 30], [40, 40, 60, 52]]), torch.tensor([[5.0, 5, 25, 25]])]
    labels = [torch.tensor([0, 1]), torch.tensor([2])]
    perfect = [Detections(b, torch.full((len(b),), 0.9), lab) for b, lab in zip(gt, labels, strict=True)]
    assert coco_map(perfect, gt, labels, (64, 64), 3) == pytest.approx((1.0, 1.0))
    shifted = [Detections(b + 2, d.scores, d.labels) for b, d in zip(gt, perfect, strict=True)]
    full, at50 = coco_map(shifted, gt, labels, (64, 64), 3)
    assert 0.0 < full < 1.0 and at50 == pytest.approx(1.0)  # IoU about 0.7: counted at .5, not at .75 and up
    wrong_class = [Detections(d.boxes, d.scores, (d.labels + 1) % 3) for d in perfect]
    assert coco_map(wrong_class, gt, labels, (64, 64), 3) == (0.0, 0.0)


def test_postprocess_thresholds_and_suppresses() -> None:
    boxes = torch.tensor([[[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]]])
    scores = torch.tensor([[[0.9, 0.0], [0.8, 0.005], [0.0, 0.7]]])
    (det,) = postprocess(boxes, scores)
    assert det.labels.tolist() == [0, 1] and det.scores.tolist() == pytest.approx([0.9, 0.7])


def test_images_without_objects_augment_and_lose_finitely() -> None:
    none, one = torch.zeros(0, 4), torch.tensor([[1.0, 1, 10, 10]])
    labels = [torch.zeros(0, dtype=torch.long), torch.tensor([1])]
    out, boxes, kept = augment_boxes(box_pipeline(32, 0.5, True, True), torch.rand(2, 1, 32, 32), [none, one], labels)
    assert out.shape == (2, 1, 32, 32) and boxes[0].shape == (0, 4) and kept[0].numel() == 0
    priors = torch.tensor([[5.0, 5, 10, 10], [20, 20, 10, 10]])
    loss = ssd_loss(torch.randn(2, 2, 3), torch.zeros(2, 2, 4), priors, [none, one], labels)
    assert torch.isfinite(loss)
    cells, strides = torch.tensor([[0.0, 0], [1, 1]]), torch.full((2, 1), 8.0)
    loss = yolox_loss(torch.zeros(2, 2, 3), torch.zeros(2, 2, 4), cells, strides, [none, one], labels)
    assert torch.isfinite(loss) and loss > 0
