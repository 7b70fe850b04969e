"""Scanning a dataset once per process: the built-in digits and shapes, an ImageFolder directory, CIFAR-10 pickles, at native size."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from workers.data import shapes
from workers.data.errors import DatasetError
from workers.data.formats import CIFAR_LABEL_NAMES, CIFAR_META, CIFAR_TEST, CIFAR_TRAIN, IMAGE_EXTENSIONS
from workers.data.safety import Limits, Scope, entries, image_files, lexists, open_image, unpickle


@dataclass(frozen=True, eq=False)
class Raw:
    """The data at native size: ``images`` (N, C, H, W) array for digits/CIFAR, or image ``files``."""

    kind: str
    source: str
    labels: np.ndarray
    class_names: tuple[str, ...]
    in_chans: int
    image_size: tuple[int, int] | None
    images: np.ndarray | None = None
    files: tuple[str, ...] = ()
    test_size: int = 0
    test_images: np.ndarray | None = None  # CIFAR-10's test_batch (other formats hold out part of ``images``)
    test_labels: np.ndarray | None = None
    blobs: tuple[bytes, ...] = ()  # the files' bytes, in ``files`` order, when the data was shipped


@lru_cache(maxsize=4)
def scan_source(kind: str, source: str, signature: int, limits: Limits) -> Raw:
    if kind == "digits":
        return scan_digits()
    if kind == "shapes":
        return scan_shapes(signature)
    root = Path(source)
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        raise DatasetError(root, "does not exist") from None
    except OSError as err:
        raise DatasetError(root, f"cannot be read: {err.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise DatasetError(root, f"is not a directory (expected {'a CIFAR-10' if kind == 'cifar10' else 'an ImageFolder'} directory)")
    scope = Scope(limits)
    return scan_cifar10(root, scope) if kind == "cifar10" else scan_imagefolder(root, scope)


def scan_digits() -> Raw:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]
    names = tuple(str(n) for n in digits.target_names)
    return Raw(kind="digits", source="digits", labels=digits.target.astype(np.int64), class_names=names,
                in_chans=1, image_size=(8, 8), images=images)


def scan_shapes(seed: int) -> Raw:
    images, labels = shapes.generate(seed)
    return Raw(kind="shapes", source="shapes", labels=labels, class_names=shapes.CLASS_NAMES, in_chans=1,
                image_size=(shapes.SIZE, shapes.SIZE), images=images)


def scan_imagefolder(root: Path, scope: Scope) -> Raw:
    classes = [name for _, name, mode in entries(root, scope) if mode is not None and stat.S_ISDIR(mode)]
    if len(classes) < 2:
        raise DatasetError(root, f"needs at least two class sub-directories of images, found {len(classes)}")
    files, labels = [], []
    modes: set[str] = set()
    sizes: set[tuple[int, int]] = set()
    for label, name in enumerate(classes):
        found = image_files(root / name, scope)
        if not found:
            raise DatasetError(root / name, f"holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
        for path in found:
            scope.check(path)
            with open_image(path, "cannot be read as an image") as img:
                modes.add(img.mode)
                sizes.add(img.size)
        files += found
        labels += [label] * len(found)
    in_chans = 1 if modes <= {"1", "L", "I", "I;16", "F"} else 3
    size = next(iter(sizes))[::-1] if len(sizes) == 1 else None
    return Raw(kind="imagefolder", source=str(root), labels=np.asarray(labels, np.int64), class_names=tuple(classes),
                in_chans=in_chans, image_size=size, files=tuple(files))


def cifar_batch(path: Path, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
    batch = unpickle(path, scope)
    if "data" not in batch or "labels" not in batch:
        raise DatasetError(path, f"must hold 'data' and 'labels', found {sorted(batch)}")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", type(data).__name__)
        raise DatasetError(path, f"'data' must be a uint8 array of shape (N, 3072), found {shape} "
                                 f"{getattr(data, 'dtype', '')}".rstrip())
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise DatasetError(path, "'labels' must be a list of integers") from None
    if labels.shape != (len(data),):
        raise DatasetError(path, f"has {len(data)} images but {labels.size} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(path, f"labels must be in 0..9, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


def scan_cifar10(root: Path, scope: Scope) -> Raw:
    parts = [cifar_batch(root / name, scope) for name in CIFAR_TRAIN]
    test_images, test_labels = cifar_batch(root / CIFAR_TEST, scope)
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    missing = sorted(set(range(10)) - set(np.unique(labels).tolist()))
    if missing:
        raise DatasetError(root, f"the training batches hold no image of class(es) {missing}")
    names = CIFAR_LABEL_NAMES
    if lexists(root / CIFAR_META):
        meta = unpickle(root / CIFAR_META, scope).get("label_names")
        if not isinstance(meta, list) or len(meta) != 10:
            raise DatasetError(root / CIFAR_META, "'label_names' must list the 10 class names")
        names = tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in meta)
    return Raw(kind="cifar10", source=str(root), labels=labels, class_names=names, in_chans=3,
                image_size=(32, 32), images=images, test_size=len(test_images),
                test_images=test_images, test_labels=test_labels)
