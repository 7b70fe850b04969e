"""The dataset configuration (DatasetConfig): validation at submission, cached loading of the split tensors, shipment to Ray nodes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from searchspace.checks import check_float, check_int
from searchspace.fields import as_dict, check_enum, doc
from workers.data.decode import decode_files, resize_images
from workers.data.errors import DatasetError
from workers.data.formats import (
    BOX_BUILT_IN,
    BUILT_IN,
    CIFAR_META,
    CIFAR_TEST,
    CIFAR_TRAIN,
    MAX_SHIPPED_BYTES,
    MAX_SOURCE_CHARS,
    Format,
)
from workers.data.safety import Limits, lexists, open_regular
from workers.data.scan import Raw, scan_source
from workers.data.shipment import ADOPTED, Shipment
from workers.data.split import DatasetInfo, SplitData, held_out_test, stratified_split


@dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """Which data, and how it is split.

    ``source`` is ``"digits"`` or ``"shapes"`` (built in; shapes is generated from ``seed``) or a directory:
    ImageFolder (one sub-directory of images per class) or CIFAR-10's python layout (``data_batch_1..5``,
    ``test_batch``); ``format='auto'`` tells them apart. A directory path is made absolute on construction.
    ``test_fraction`` of every class is held out first as the test split (seeded by a fixed seed, not by
    ``seed``: no search, whatever its seed or subset, trains or validates on it; only full-fidelity training
    reports on it). ``subset`` keeps that fraction of every class of the rest; ``val_fraction`` of what is kept
    goes to validation. For CIFAR-10 the test split is ``test_batch`` and ``test_fraction`` is not used.
    ``test_fraction=0`` gives the train/validation split of the versions before the test split existed.
    """

    source: str = field(default="digits",
                        metadata=doc("'digits' or 'shapes' (built in), an ImageFolder or a CIFAR-10 pickle directory"))
    format: Format = field(default=Format.AUTO,
                           metadata=doc("directory layout; auto tells ImageFolder and CIFAR-10 apart"))
    val_fraction: float = field(default=0.2,
                                metadata=doc("fraction of the kept images held out for validation"))
    subset: float = field(default=1.0, metadata=doc("fraction of every class kept"))
    test_fraction: float = field(default=0.2, metadata=doc("fraction of every class held out as the test split "
                                                           "(never searched; CIFAR-10: its test_batch instead)"))
    seed: int = field(default=0, metadata=doc("seed of the subset and the train/validation split (and of the "
                                              "generated shapes images)"))
    max_gib: float = field(default=4.0, metadata=doc("memory bound (GiB) of the resized float tensors"))

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source or len(self.source) > MAX_SOURCE_CHARS:
            raise DatasetError(str(self.source)[:200], "source must be 'digits', 'shapes' or a directory path "
                                                       f"(at most {MAX_SOURCE_CHARS} characters)")
        if "\x00" in self.source:
            raise DatasetError(self.source[:200], "source must not contain a NUL byte")
        object.__setattr__(self, "format", check_enum("format", self.format, Format))
        object.__setattr__(self, "val_fraction", float(check_float("val_fraction", self.val_fraction, 0.01, 0.9)))
        object.__setattr__(self, "subset", float(check_float("subset", self.subset, 1e-4, 1.0)))
        object.__setattr__(self, "test_fraction", float(check_float("test_fraction", self.test_fraction, 0.0, 0.5)))
        check_int("seed", self.seed, 0, 2**32 - 1)
        object.__setattr__(self, "max_gib", float(check_float("max_gib", self.max_gib, 0.001, 1024.0)))
        for name in BUILT_IN:
            if self.format == name and self.source != name:
                raise DatasetError(self.source, f"format {name!r} takes source {name!r}")
        if self.source not in (*BUILT_IN, *BOX_BUILT_IN):  # workers may run elsewhere than the one submitting
            object.__setattr__(self, "source", os.path.abspath(os.path.expanduser(self.source)))

    @property
    def kind(self) -> str:
        """The resolved format: digits, shapes, imagefolder or cifar10."""
        if self.format != Format.AUTO:
            return self.format.value
        if self.source in BUILT_IN:
            return self.source
        root = Path(self.source)
        if any(lexists(root / name) for name in (*CIFAR_TRAIN, CIFAR_TEST, CIFAR_META)):
            return "cifar10"
        return "imagefolder"

    def validate(self, *, within: str | os.PathLike[str] | None = None,
                 time_limit_s: float | None = None) -> DatasetInfo:
        """Check that the data exists and is well formed; its metadata.

        ImageFolder: every file's image header is read; CIFAR-10: every batch is unpickled (and cached). Only
        regular files are read (a FIFO or device named like an image is a DatasetError, never a hang).
        ``within``: a symlink (class directory or file) resolving outside that directory is a DatasetError;
        ``time_limit_s``: a DatasetError once checking has taken longer.
        """
        if self.source in BOX_BUILT_IN:
            raise DatasetError(self.source, "is a box (detection) dataset: search it with task 'detection'")
        limits = Limits(None if within is None else os.path.realpath(within), time_limit_s)
        return info_of(self, scan(self, limits))

    def load(self, resolution: int, in_chans: int, test: bool = False) -> SplitData:
        """The train/validation tensors at ``resolution`` with ``in_chans`` channels (cached in-process); with
        ``test``, the held-out test split too (DatasetError when the data has none). The train and validation
        tensors are the same either way."""
        check_int("resolution", resolution, 8, 2048)
        check_int("in_chans", in_chans, 1, 64)
        return load_split(self, resolution, in_chans, data_signature(self), test)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


def clear_cache() -> None:
    """Forget every cached dataset (raw, resized and adopted shipments)."""
    load_split.cache_clear()
    scan_source.cache_clear()
    ADOPTED.clear()


def shipment(cfg: DatasetConfig, max_bytes: int = MAX_SHIPPED_BYTES) -> Shipment | None:
    """The data of ``cfg`` packed for Ray's object store; None for the built-in digits (every node has them) and
    for data above ``max_bytes`` (then every node needs the directory at the same path)."""
    if cfg.source == "digits":
        return None
    raw = scan(cfg)
    size = raw.images.nbytes if raw.images is not None else sum(os.stat(f).st_size for f in raw.files)
    if size > max_bytes:
        return None
    if raw.files:
        blobs = []
        for path in raw.files:
            with open_regular(path) as fh:
                blobs.append(fh.read())
        raw = replace(raw, blobs=tuple(blobs))
    return Shipment(cfg.source, data_signature(cfg), raw)


def data_signature(cfg: DatasetConfig) -> int:
    """Changes when the data changes (shapes: its seed; a directory: its entries), so that the cache never serves
    stale data."""
    if cfg.source == Format.SHAPES:
        return cfg.seed
    if cfg.source == Format.DIGITS:
        return 0
    if cfg.source in ADOPTED:
        return ADOPTED[cfg.source].signature
    try:
        return os.stat(cfg.source).st_mtime_ns
    except OSError:
        return -1


def scan(cfg: DatasetConfig, limits: Limits = Limits()) -> Raw:
    shipped = ADOPTED.get(cfg.source)
    if shipped is not None and cfg.format in (Format.AUTO, shipped.raw.kind):
        return shipped.raw
    return scan_source(cfg.kind, cfg.source, data_signature(cfg), limits)


def test_indices(cfg: DatasetConfig, raw: Raw) -> np.ndarray:
    """Indices into ``raw``'s images of the held-out test split (none for CIFAR-10: its test batch is apart)."""
    return np.zeros(0, np.int64) if raw.test_images is not None else held_out_test(raw.labels, cfg.test_fraction)


def splits(cfg: DatasetConfig, raw: Raw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) indices into ``raw``'s images."""
    test = test_indices(cfg, raw)
    train, val = stratified_split(raw.labels, cfg.val_fraction, cfg.subset, cfg.seed, exclude=test)
    return train, val, test


def info_of(cfg: DatasetConfig, raw: Raw) -> DatasetInfo:
    train, val, test = splits(cfg, raw)
    return DatasetInfo(source=raw.source, format=raw.kind, num_classes=len(raw.class_names),
                       class_names=raw.class_names, in_chans=raw.in_chans, image_size=raw.image_size,
                       num_images=len(raw.labels), train_size=len(train), val_size=len(val),
                       test_size=raw.test_size if raw.test_images is not None else len(test))


@lru_cache(maxsize=4)
def load_split(cfg: DatasetConfig, resolution: int, in_chans: int, signature: int, test: bool = False) -> SplitData:
    import torch

    raw = scan(cfg)
    info = info_of(cfg, raw)
    train_idx, val_idx, test_idx = splits(cfg, raw)
    if test and info.test_size == 0:
        raise DatasetError(raw.source, "has no held-out test split (test_fraction is 0); set test_fraction")
    n_test = info.test_size if test else 0
    n = len(train_idx) + len(val_idx) + n_test
    gib = n * in_chans * resolution**2 * 4 / 2**30
    if gib > cfg.max_gib:
        raise DatasetError(raw.source, f"{n} images at {in_chans}x{resolution}x{resolution} need {gib:.1f} GiB "
                                       f"(max_gib={cfg.max_gib:g}); lower the subset or the resolution")
    if raw.in_chans != in_chans and raw.in_chans != 1 and not (raw.in_chans == 3 and in_chans == 1):
        raise DatasetError(raw.source, f"has {raw.in_chans}-channel images; the network takes {in_chans}")
    order = np.concatenate([train_idx, val_idx, test_idx if test else test_idx[:0]])
    x = decode_files(raw, order, resolution, in_chans) if raw.files else resize_images(raw.images[order], resolution, in_chans)
    x_train, x_val = x[: len(train_idx)], x[len(train_idx):len(train_idx) + len(val_idx)]
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3)).clamp_min(1e-6)
    x.sub_(mean[:, None, None]).div_(std[:, None, None])
    labels = torch.from_numpy(raw.labels)
    x_test = y_test = None
    if test and raw.test_images is not None:
        x_test = resize_images(raw.test_images, resolution, in_chans)
        x_test.sub_(mean[:, None, None]).div_(std[:, None, None])
        y_test = torch.from_numpy(raw.test_labels)
    elif test:
        x_test, y_test = x[len(train_idx) + len(val_idx):], labels[test_idx].contiguous()
    return SplitData(
        x_train=x_train, y_train=labels[train_idx].contiguous(), x_val=x_val, y_val=labels[val_idx].contiguous(),
        info=info, resolution=resolution, in_chans=in_chans, mean=tuple(mean.tolist()), std=tuple(std.tolist()),
        x_test=x_test, y_test=y_test,
    )
