"""The built-in box sets: generated colour images with objects of three shapes (disc, square, triangle) on
cluttered backgrounds, with their tight boxes; seeded, nothing downloaded. Two styles (``STYLES``):
``builtin-boxes`` has one to four objects of 6 to 40 % of the side; ``builtin-boxes-small`` is crowded with
small objects (three to nine of 5 to 15 % of the side), which the stride-8 maps must find.

Every image has a smooth random background (a colour gradient), clutter (strokes and dots of random colour,
smaller than the objects, never boxed), objects (as many and as large as the style says) of random shape, colour,
size and position, placed so that no two overlap by more than a third of the smaller one's box, and Gaussian
noise. The class is the outline, never the colour. A box is (x1, y1, x2, y2) in pixels with exclusive ends:
the smallest box holding every pixel the object covers by at least half.

``generate(seed)`` is a pure function of the seed (numpy's PCG64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASS_NAMES = ("disc", "square", "triangle")
SIZE = 96
IMAGES = 400
NOISE_STD = 0.04
MIN_SIDE, MAX_SIDE = 0.06, 0.40  # object size, fraction of the image side
_EDGE = 0.6  # width (px) of the anti-aliased edge


@dataclass(frozen=True)
class Style:
    """How many objects an image has (``min_objects`` to ``max_objects``) and how large (fraction of the side)."""

    min_objects: int
    max_objects: int
    min_side: float
    max_side: float


STYLES = {"builtin-boxes": Style(1, 4, MIN_SIDE, MAX_SIDE), "builtin-boxes-small": Style(3, 9, 0.05, 0.15)}


def generate(seed: int, images: int = IMAGES, size: int = SIZE, style: str = "builtin-boxes",
             ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """(images uint8 (N, 3, size, size), per image boxes float32 (n, 4) and labels int64 (n,)) of ``style``."""
    shape = STYLES[style]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    out = np.empty((images, 3, size, size), np.uint8)
    all_boxes, all_labels = [], []
    for i in range(images):
        out[i], boxes, labels = _image(rng, xx, yy, size, shape)
        all_boxes.append(boxes)
        all_labels.append(labels)
    return out, all_boxes, all_labels


def _image(rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray, size: int,
           style: Style) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = rng.uniform(0.1, 0.9, (2, 3, 1, 1)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = ((np.cos(angle) * xx + np.sin(angle) * yy) / (size * 1.5) + 0.5)[None]
    image = a + (b - a) * t  # (3, size, size)
    for _ in range(rng.integers(4, 10)):  # clutter, under the objects
        x0, y0 = rng.uniform(0, size, 2)
        if rng.random() < 0.6:
            theta, length = rng.uniform(0, np.pi), rng.uniform(0.04, 0.12) * size
            mask = _segment(xx, yy, x0, y0, x0 + length * np.cos(theta), y0 + length * np.sin(theta), 0.7)
        else:
            mask = _soft(rng.uniform(0.8, 1.8) - np.hypot(xx - x0, yy - y0))
        image += mask[None] * (rng.uniform(0, 1, (3, 1, 1)).astype(np.float32) - image)
    boxes: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(rng.integers(style.min_objects, style.max_objects + 1)):
        for _attempt in range(20):
            side = rng.uniform(style.min_side, style.max_side) * size
            cx, cy = rng.uniform(side / 2 + 1, size - side / 2 - 1, 2)
            label = int(rng.integers(len(CLASS_NAMES)))
            mask = _shape(label, rng, xx, yy, cx, cy, side / 2)
            ys, xs = np.nonzero(mask >= 0.5)
            if len(xs) == 0:
                continue
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
            if all(_overlap(box, other) <= 1 / 3 for other in boxes):
                colour = rng.uniform(0, 1, (3, 1, 1)).astype(np.float32)
                while np.abs(colour - image[:, int(cy), int(cx)][:, None, None]).max() < 0.35:
                    colour = rng.uniform(0, 1, (3, 1, 1)).astype(np.float32)
                image += mask[None] * (colour - image)
                boxes.append(box)
                labels.append(label)
                break
    image += rng.normal(0.0, NOISE_STD, image.shape).astype(np.float32)
    pixels = (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return pixels, np.stack(boxes).astype(np.float32), np.asarray(labels, np.int64)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of two boxes over the smaller one's area."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(w * h / smaller)


def _soft(distance_inside: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] from a signed distance (positive inside), anti-aliased over ``_EDGE`` px."""
    return np.clip(0.5 + distance_inside / _EDGE, 0.0, 1.0)


def _segment(xx: np.ndarray, yy: np.ndarray, x0: float, y0: float, x1: float, y1: float, half_width: float) -> np.ndarray:
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    return _soft(half_width - np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy)))


def _shape(label: int, rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float,
           r: float) -> np.ndarray:
    """Coverage of the class's shape of half-size ``r`` at (cx, cy); squares and triangles turned at random."""
    u, v = xx - cx, yy - cy
    name = CLASS_NAMES[label]
    if name == "disc":
        return _soft(r - np.hypot(u, v))
    angle = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * u + s * v, -s * u + c * v
    if name == "square":
        return _soft(r / np.sqrt(2) - np.maximum(np.abs(u), np.abs(v)))
    inside = np.full(u.shape, np.inf, np.float32)  # equilateral triangle of circumradius r
    for k in range(3):
        theta = k * 2 * np.pi / 3
        inside = np.minimum(inside, r / 2 - (u * np.cos(theta) + v * np.sin(theta)))
    return _soft(inside)
