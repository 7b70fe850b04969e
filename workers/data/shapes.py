"""The built-in ``shapes`` benchmark: generated 32x32 grey images of 10 classes told apart by spatial structure.

Digits is too easy to rank architectures (nearly every candidate reaches 0.94-0.97 after a few epochs); on
shapes the class is a shape's outline or the arrangement of its parts, never its brightness: every image has a
random background and foreground level (the foreground is darker than the background half of the time), a
random position, size and (where the class allows) rotation, Gaussian noise and clutter (short strokes and dots
of random intensity). Small, shallow or narrow networks confuse the outline classes (disc vs ring, square vs
frame) and the arrangement classes (a bar above a dot vs below it) and land far below larger ones.

The classes:
  disc, ring, square, frame (square outline), plus, cross (x), triangle, bar_above (a bar with a dot below it),
  bar_below (a dot with a bar below it), corner (an L of two strokes).

``generate(seed)`` is a pure function of the seed (numpy's PCG64): the same seed gives the same images bit for bit.
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("disc", "ring", "square", "frame", "plus", "cross", "triangle", "bar_above", "bar_below", "corner")
SIZE = 32
PER_CLASS = 200
NOISE_STD = 0.08
_EDGE = 0.6  # width (px) of the anti-aliased edge


def generate(seed: int, per_class: int = PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (N, 1, 32, 32) in [0, 1], labels int64 (N,)): ``per_class`` images of every class, in class
    order."""
    rng = np.random.default_rng(seed)
    n = per_class * len(CLASS_NAMES)
    labels = np.repeat(np.arange(len(CLASS_NAMES), dtype=np.int64), per_class)
    images = np.empty((n, 1, SIZE, SIZE), np.float32)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5
    for i, label in enumerate(labels):
        images[i, 0] = _image(int(label), rng, xx, yy)
    return images, labels


def _image(label: int, rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """One image of class ``label``: background, clutter, the shape, noise; clipped to [0, 1]."""
    background, foreground = rng.uniform(0.15, 0.85, 2)
    while abs(foreground - background) < 0.3:
        foreground = rng.uniform(0.05, 0.95)
    image = np.full((SIZE, SIZE), background, np.float32)
    for _ in range(rng.integers(2, 5)):  # clutter: strokes and dots of any level, under the shape
        level = rng.uniform(0.0, 1.0)
        x0, y0 = rng.uniform(2, SIZE - 2, 2)
        if rng.random() < 0.5:
            angle, length = rng.uniform(0, np.pi), rng.uniform(2.0, 4.0)
            mask = _segment(xx, yy, x0, y0, x0 + length * np.cos(angle), y0 + length * np.sin(angle), 0.5)
        else:
            mask = _soft(1.0 - np.hypot(xx - x0, yy - y0))
        image += mask * (level - image)
    mask = _shape(label, rng, xx, yy)
    image += mask * (foreground - image)
    image += rng.normal(0.0, NOISE_STD, image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0)


def _soft(distance_inside: np.ndarray) -> np.ndarray:
    """Coverage in [0, 1] from a signed distance (positive inside), anti-aliased over ``_EDGE`` px."""
    return np.clip(0.5 + distance_inside / _EDGE, 0.0, 1.0)


def _segment(xx: np.ndarray, yy: np.ndarray, x0: float, y0: float, x1: float, y1: float, half_width: float) -> np.ndarray:
    """Coverage of a stroke from (x0, y0) to (x1, y1) with round ends."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    return _soft(half_width - np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy)))


def _shape(label: int, rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Coverage of class ``label``'s shape at a random centre, size and (where it keeps the class) rotation."""
    r = rng.uniform(5.5, 9.0)  # half-size in px at 32 px
    cx, cy = rng.uniform(r + 2, SIZE - r - 2, 2)
    width = rng.uniform(1.6, 2.4)  # stroke width
    tilt = rng.uniform(-0.25, 0.25)  # radians: small enough that plus and cross stay apart
    u, v = _rotated(xx - cx, yy - cy, tilt)
    name = CLASS_NAMES[label]
    if name == "disc":
        return _soft(r - np.hypot(u, v))
    if name == "ring":
        return _soft(width / 2 - np.abs(np.hypot(u, v) - (r - width / 2)))
    if name == "square":
        return _soft(r * 0.85 - np.maximum(np.abs(u), np.abs(v)))
    if name == "frame":
        return _soft(width / 2 - np.abs(np.maximum(np.abs(u), np.abs(v)) - (r * 0.85 - width / 2)))
    if name in ("plus", "cross"):
        a, b = (u, v) if name == "plus" else _rotated(u, v, np.pi / 4)
        return np.maximum(_bar(a, b, r, width / 2), _bar(b, a, r, width / 2))
    if name == "triangle":
        return _triangle(u, v, r, rng.uniform(0, 2 * np.pi))
    if name in ("bar_above", "bar_below"):
        sign = -1.0 if name == "bar_above" else 1.0  # image y grows downwards
        bar = _bar(u, v - sign * r * 0.55, r, width / 2)
        dot = _soft(width * 0.9 - np.hypot(u, v + sign * r * 0.55))
        return np.maximum(bar, dot)
    # corner: an L of two strokes meeting at a right angle, turned by a multiple of 90 degrees
    u, v = _rotated(u, v, rng.integers(4) * np.pi / 2)
    return np.maximum(_segment(u, v, -r, -r, -r, r, width / 2), _segment(u, v, -r, r, r, r, width / 2))


def _rotated(u: np.ndarray, v: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(angle), np.sin(angle)
    return c * u + s * v, -s * u + c * v


def _bar(along: np.ndarray, across: np.ndarray, half_length: float, half_width: float) -> np.ndarray:
    return _soft(np.minimum(half_length - np.abs(along), half_width - np.abs(across)))


def _triangle(u: np.ndarray, v: np.ndarray, r: float, angle: float) -> np.ndarray:
    """Coverage of an equilateral triangle of circumradius ``r``, turned by ``angle``."""
    inside = np.full(u.shape, np.inf, np.float32)
    for k in range(3):  # distance to each edge's line, positive inside
        theta = angle + k * 2 * np.pi / 3
        inside = np.minimum(inside, r / 2 - (u * np.cos(theta) + v * np.sin(theta)))
    return _soft(inside)
