"""The box dataset configuration (BoxDatasetConfig): which annotations, how they are split, and loading them
as tensors at a detector's resolution (BoxData)."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from searchspace.checks import check_float, check_int
from searchspace.fields import as_dict, check_enum, doc
from workers.data import BOX_BUILT_IN, DatasetError, Limits, Scope, held_out_test, stratified_split
from workers.detection import builtin
from workers.detection.decode import decode_images
from workers.detection.readers import BoxRecord, is_directory, read_coco, read_voc, read_yolo

BUILTIN = "builtin-boxes"


class BoxFormat(enum.StrEnum):
    """How a box dataset is laid out (``auto``: told apart by its files)."""

    AUTO = "auto"
    BUILTIN = BUILTIN
    COCO = "coco"
    VOC = "voc"
    YOLO = "yolo"


@dataclass(frozen=True, kw_only=True)
class BoxDatasetConfig:
    """Which box data, and how it is split.

    ``source`` is ``builtin-boxes`` (generated from ``seed``) or a directory: COCO (``annotations``, a JSON
    file in it, image file names relative to the directory), Pascal VOC (``Annotations/*.xml``, ``JPEGImages``)
    or YOLO (``images/``, ``labels/``, ``classes.txt``); ``format='auto'`` tells them apart in that order.
    ``test_fraction`` of the images is held out first (by a fixed seed, never ``seed``), then ``subset`` of the
    rest is kept and ``val_fraction`` of that goes to validation (seeded by ``seed``).
    """

    source: str = field(default=BUILTIN, metadata=doc(
        "'builtin-boxes' or 'builtin-boxes-small' (generated) or a COCO, VOC or YOLO directory"))
    format: BoxFormat = field(default=BoxFormat.AUTO, metadata=doc("directory layout; auto tells them apart"))
    annotations: str = field(default="annotations.json", metadata=doc("COCO: the annotation JSON, in source"))
    classes: tuple[str, ...] = field(default=(), metadata=doc(
        "class names in label order (VOC, YOLO; empty: classes.txt, or for VOC every name found)",
        may_be_empty=True))
    val_fraction: float = field(default=0.2, metadata=doc("fraction of the kept images held out for validation"))
    test_fraction: float = field(default=0.2, metadata=doc("fraction of the images held out as the test split"))
    subset: float = field(default=1.0, metadata=doc("fraction of the non-test images kept"))
    seed: int = field(default=0, metadata=doc("seed of the subset and the split (and of the generated images)"))
    images: int = field(default=builtin.IMAGES, metadata=doc("builtin-boxes: how many images are generated"))
    max_gib: float = field(default=4.0, metadata=doc("memory bound (GiB) of the resized uint8 images"))

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source or len(self.source) > 4096 or "\x00" in self.source:
            raise DatasetError(str(self.source)[:200], "source must be 'builtin-boxes' or a directory path")
        object.__setattr__(self, "format", check_enum("format", self.format, BoxFormat))
        if not isinstance(self.annotations, str) or not self.annotations or "\x00" in self.annotations:
            raise DatasetError(self.source, "annotations must name the COCO JSON file")
        if isinstance(self.classes, list):
            object.__setattr__(self, "classes", tuple(self.classes))
        if not isinstance(self.classes, tuple) or not all(isinstance(c, str) and c for c in self.classes):
            raise DatasetError(self.source, "classes must be a list of class names")
        if len(set(self.classes)) != len(self.classes):
            raise DatasetError(self.source, "classes lists a name twice")
        object.__setattr__(self, "val_fraction", float(check_float("val_fraction", self.val_fraction, 0.01, 0.9)))
        object.__setattr__(self, "test_fraction", float(check_float("test_fraction", self.test_fraction, 0.0, 0.5)))
        object.__setattr__(self, "subset", float(check_float("subset", self.subset, 1e-4, 1.0)))
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_int("images", self.images, 8, 100_000)
        object.__setattr__(self, "max_gib", float(check_float("max_gib", self.max_gib, 0.001, 1024.0)))
        if (self.format == BoxFormat.BUILTIN) != (self.source in BOX_BUILT_IN) and self.format != BoxFormat.AUTO:
            raise DatasetError(self.source, f"format {BUILTIN!r} goes with source "
                                            f"{' or '.join(map(repr, BOX_BUILT_IN))} only")
        if self.source not in BOX_BUILT_IN:
            object.__setattr__(self, "source", os.path.abspath(os.path.expanduser(self.source)))

    @property
    def kind(self) -> BoxFormat:
        """The resolved format."""
        if self.format != BoxFormat.AUTO:
            return self.format
        root = Path(self.source)
        if self.source in BOX_BUILT_IN:
            return BoxFormat.BUILTIN
        if (root / self.annotations).exists():
            return BoxFormat.COCO
        if is_directory(root / "Annotations"):
            return BoxFormat.VOC
        if is_directory(root / "labels"):
            return BoxFormat.YOLO
        raise DatasetError(root, f"is no box dataset: expected {self.annotations} (COCO), Annotations/ (VOC) or "
                                 "labels/ (YOLO)")

    def read(self, *, within: str | os.PathLike[str] | None = None, time_limit_s: float | None = None) -> BoxSource:
        """Every annotation read and checked (see ``readers``); image headers read, pixels not decoded."""
        limits = Limits(None if within is None else os.path.realpath(within), time_limit_s)
        return read_source(self, limits)

    def load(self, resolution: int, in_chans: int = 3) -> BoxData:
        """The splits as uint8 images (N, in_chans, R, R) and boxes scaled to R (cached in-process)."""
        check_int("resolution", resolution, 16, 2048)
        check_int("in_chans", in_chans, 1, 3)
        return load_splits(self, resolution, in_chans)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


@dataclass(frozen=True, eq=False)
class BoxSource:
    """The data at native size: class names and one record per image; the built-in set holds its pixels."""

    kind: BoxFormat
    source: str
    class_names: tuple[str, ...]
    records: tuple[BoxRecord, ...]
    pixels: np.ndarray | None = None  # builtin-boxes: uint8 (N, 3, H, W)


@dataclass(frozen=True, eq=False)
class BoxSplit:
    """One split: uint8 images (N, C, R, R) and per image float boxes (n, 4) in pixels at R and int64 labels."""

    images: Any
    boxes: list[Any]
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True, eq=False)
class BoxData:
    """The train/validation/test splits at ``resolution`` and the training images' channel mean and std (in
    [0, 1] units), which the detector's inputs are normalised with."""

    train: BoxSplit
    val: BoxSplit
    test: BoxSplit
    class_names: tuple[str, ...]
    resolution: int
    in_chans: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


def clear_box_cache() -> None:
    """Forget every box dataset read or loaded in this process (a directory may have changed)."""
    read_source.cache_clear()
    load_splits.cache_clear()


@lru_cache(maxsize=4)
def read_source(cfg: BoxDatasetConfig, limits: Limits) -> BoxSource:
    kind = cfg.kind
    if kind == BoxFormat.BUILTIN:
        pixels, boxes, labels = builtin.generate(cfg.seed, cfg.images, style=cfg.source)
        size = (pixels.shape[3], pixels.shape[2])
        records = tuple(BoxRecord(file="", size=size, boxes=b, labels=lab) for b, lab in zip(boxes, labels))
        return BoxSource(kind, cfg.source, builtin.CLASS_NAMES, records, pixels)
    root = Path(cfg.source)
    if not is_directory(root):
        raise DatasetError(root, "is not a directory")
    scope = Scope(limits)
    if kind == BoxFormat.COCO:
        names, records = read_coco(root, root / cfg.annotations, scope)
    elif kind == BoxFormat.VOC:
        names, records = read_voc(root, cfg.classes, scope)
    else:
        names, records = read_yolo(root, cfg.classes, scope)
    if len(records) < 3:
        raise DatasetError(root, f"holds {len(records)} annotated images; at least 3 are needed to split")
    return BoxSource(kind, str(root), names, tuple(records))


def split_indices(cfg: BoxDatasetConfig, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) image indices: the data layer's seeded splits over one class."""
    same = np.zeros(n, np.int64)
    test = held_out_test(same, cfg.test_fraction)
    train, val = stratified_split(same, cfg.val_fraction, cfg.subset, cfg.seed, exclude=test)
    return train, val, test


@lru_cache(maxsize=4)
def load_splits(cfg: BoxDatasetConfig, resolution: int, in_chans: int) -> BoxData:
    import torch

    source = read_source(cfg, Limits())
    n = len(source.records)
    gib = n * in_chans * resolution**2 / 2**30
    if gib > cfg.max_gib:
        raise DatasetError(source.source, f"{n} images at {in_chans}x{resolution}x{resolution} need {gib:.1f} GiB "
                                          f"(max_gib={cfg.max_gib:g}); lower the resolution")
    images = decode_images(source.pixels, [r.file for r in source.records], resolution, in_chans)
    parts = []
    for idx in split_indices(cfg, n):
        boxes, labels = [], []
        for i in idx.tolist():
            rec = source.records[i]
            scale = torch.tensor([resolution / rec.size[0], resolution / rec.size[1]] * 2)
            boxes.append(torch.from_numpy(rec.boxes) * scale)
            labels.append(torch.from_numpy(rec.labels))
        parts.append(BoxSplit(images[torch.from_numpy(idx)], boxes, labels))
    train = parts[0].images.float().div_(255)
    mean = train.mean(dim=(0, 2, 3))
    std = train.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return BoxData(*parts, class_names=source.class_names, resolution=resolution, in_chans=in_chans,
                   mean=tuple(mean.tolist()), std=tuple(std.tolist()))
