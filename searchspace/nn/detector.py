"""The detector module (backbone maps, optional last conv, neck, head) and the decoders that turn its raw
outputs into boxes in image pixels (x1, y1, x2, y2) and per-class scores. Non-maximum suppression is left to
the caller (per class, on ``boxes`` and ``scores``)."""

from __future__ import annotations

import math

import torch
from torch import nn


class Detector(nn.Module):
    """Images in; per map (class logits, box values) out, as the head returns them. ``decode`` turns those
    into (boxes, scores); ``detect`` does both. ``levels`` picks the backbone maps (of strides 8, 16, 32) the
    neck reads; ``last_conv`` runs on the coarsest of them."""

    def __init__(
        self,
        backbone: nn.Module,
        neck: nn.Module,
        head: nn.Module,
        decoder: nn.Module,
        levels: tuple[int, ...] = (0, 1, 2),
        last_conv: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.last_conv = last_conv if last_conv is not None else nn.Identity()
        self.neck = neck
        self.head = head
        self.decoder = decoder
        self.levels = list(levels)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        maps = self.backbone(x)
        maps = [maps[i] for i in self.levels]
        maps[-1] = self.last_conv(maps[-1])
        return self.head(self.neck(maps))

    def decode(
        self, outputs: tuple[list[torch.Tensor], list[torch.Tensor]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(boxes (batch, n, 4) in pixels, clipped to the image; scores (batch, n, object classes))."""
        return self.decoder(torch.cat(outputs[0], 1), torch.cat(outputs[1], 1))

    def detect(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self(x))


class Detections(nn.Module):
    """A detector whose forward returns decoded (boxes, scores): what the ONNX export holds."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.detector.detect(x)


def default_boxes(
    resolution: int, sizes: tuple[int, ...], scales: tuple[float, ...], aspect_ratios: tuple[float, ...]
) -> torch.Tensor:
    """SSD's default boxes (cx, cy, w, h) in pixels for square maps of side ``sizes``, location-major, the
    boxes of one location inside (torchvision's ``DefaultBoxGenerator`` with ``clip=True``)."""
    boxes = []
    for k, size in enumerate(sizes):
        s_k = scales[k]
        s_prime = math.sqrt(scales[k] * scales[k + 1])
        pairs = [[s_k, s_k], [s_prime, s_prime]]
        for ratio in aspect_ratios:
            root = math.sqrt(ratio)
            pairs.extend([[s_k * root, s_k / root], [s_k / root, s_k * root]])
        wh = torch.tensor(pairs, dtype=torch.float32).clamp(0, 1)
        centres = (torch.arange(size, dtype=torch.float32) + 0.5) / size
        cy, cx = torch.meshgrid(centres, centres, indexing="ij")
        xy = torch.stack([cx.reshape(-1), cy.reshape(-1)], -1)
        n, a = xy.shape[0], wh.shape[0]
        boxes.append(
            torch.cat([xy[:, None, :].expand(n, a, 2), wh[None, :, :].expand(n, a, 2)], -1).reshape(-1, 4)
        )
    return torch.cat(boxes) * resolution


class BoxDecoder(nn.Module):
    """SSD's box coder (weights 10, 10, 5, 5; log-size deltas clamped at log(1000/16)) on the default boxes;
    scores are the softmax over the classes without the background."""

    def __init__(
        self,
        resolution: int,
        sizes: tuple[int, ...],
        scales: tuple[float, ...],
        aspect_ratios: tuple[float, ...],
    ) -> None:
        super().__init__()
        self.resolution = float(resolution)
        self.max_delta = math.log(1000.0 / 16)
        self.register_buffer(
            "priors", default_boxes(resolution, sizes, scales, aspect_ratios), persistent=False
        )

    def forward(self, logits: torch.Tensor, deltas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centre = deltas[..., :2] / 10.0 * self.priors[:, 2:] + self.priors[:, :2]
        size = torch.exp(torch.clamp(deltas[..., 2:] / 5.0, max=self.max_delta)) * self.priors[:, 2:]
        boxes = torch.cat([centre - 0.5 * size, centre + 0.5 * size], -1).clamp(0.0, self.resolution)
        return boxes, torch.softmax(logits, -1)[..., 1:]


class GridDecoder(nn.Module):
    """YOLOX's decoding: centre = (offset + cell) x stride, size = exp(value) x stride; scores are
    sigmoid(class) x sigmoid(objectness)."""

    def __init__(self, resolution: int, sizes: tuple[int, ...], strides: tuple[int, ...]) -> None:
        super().__init__()
        self.resolution = float(resolution)
        cells, steps = [], []
        for size, stride in zip(sizes, strides):
            index = torch.arange(size, dtype=torch.float32)
            y, x = torch.meshgrid(index, index, indexing="ij")
            cells.append(torch.stack([x.reshape(-1), y.reshape(-1)], -1))
            steps.append(torch.full((size * size, 1), float(stride)))
        self.register_buffer("cells", torch.cat(cells), persistent=False)
        self.register_buffer("strides", torch.cat(steps), persistent=False)

    def forward(self, logits: torch.Tensor, deltas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centre = (deltas[..., :2] + self.cells) * self.strides
        size = torch.exp(deltas[..., 2:]) * self.strides
        boxes = torch.cat([centre - 0.5 * size, centre + 0.5 * size], -1).clamp(0.0, self.resolution)
        return boxes, torch.sigmoid(logits[..., :-1]) * torch.sigmoid(logits[..., -1:])
