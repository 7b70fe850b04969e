"""What a dataset holds (DatasetInfo), its normalised train/validation (and held-out test) tensors (SplitData), the
seeded held-out test split and the seeded per-class train/validation split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """What the data holds: classes, native channels and size, and the sizes of the split."""

    source: str
    format: str
    num_classes: int
    class_names: tuple[str, ...]
    in_chans: int
    image_size: tuple[int, int] | None  # None when images differ in size (ImageFolder)
    num_images: int
    train_size: int
    val_size: int
    test_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["class_names"] = list(self.class_names)
        data["image_size"] = list(self.image_size) if self.image_size else None
        return data


@dataclass(frozen=True, eq=False)
class SplitData:
    """Normalised float tensors (N, C, R, R) and int64 labels of the splits, with the statistics used (those of
    the training split); ``x_test``/``y_test`` only when the held-out test split was asked for."""

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    info: DatasetInfo
    resolution: int
    in_chans: int
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())
    x_test: Any = None
    y_test: Any = None


TEST_SEED = 0  # the held-out test split does not depend on a search's seed: no seed ever trains on it


def held_out_test(labels: np.ndarray, fraction: float, seed: int = TEST_SEED) -> np.ndarray:
    """Sorted indices of the held-out test split: per class, a seeded shuffle and its last ``fraction``.

    A class with at least three images gives at least one to the test split and keeps at least two for
    training and validation; ``fraction=0`` gives none. It depends only on the labels, ``fraction`` and
    ``seed`` (fixed by default), never on a search's seed, subset or validation fraction.
    """
    if fraction <= 0.0:
        return np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = max(0, min(max(1, round(len(idx) * fraction)), len(idx) - 2))
        test.append(idx[len(idx) - n_test:])
    return np.sort(np.concatenate(test)).astype(np.int64)


def stratified_split(labels: np.ndarray, val_fraction: float, subset: float = 1.0,
                     seed: int = 0, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) indices: per class, a seeded shuffle, keep ``subset`` of it, ``val_fraction`` to val.

    Every class with at least two kept images puts at least one in each split; a larger subset with the same
    seed contains the smaller one. Indices in ``exclude`` (the held-out test split) are in neither; without
    them the split is the same as before the test split existed.
    """
    rng = np.random.default_rng(seed)
    excluded = np.zeros(len(labels), bool)
    if exclude is not None:
        excluded[exclude] = True
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero((labels == c) & ~excluded)
        idx = idx[rng.permutation(len(idx))]
        keep = min(len(idx), max(2, round(len(idx) * subset)))
        n_val = min(max(round(keep * val_fraction), 1), keep - 1) if keep >= 2 else 0
        val.append(idx[:n_val])
        train.append(idx[n_val:keep])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def stratified_subset(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded ``fraction`` of every class (at least one image of each)."""
    if fraction >= 1.0:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.append(idx[rng.permutation(len(idx))][: max(1, round(len(idx) * fraction))])
    return np.sort(np.concatenate(keep))
