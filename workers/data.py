"""Datasets for proxy training: scikit-learn's digits, the generated shapes benchmark (workers/shapes.py), an
ImageFolder directory, a CIFAR-10 pickle directory.

A frozen ``DatasetConfig`` names the data and how to split it; ``validate()`` checks it fast (at submission)
and returns its ``DatasetInfo``; ``load(resolution, in_chans)`` returns a ``SplitData``: float tensors,
normalised with the training split's per-channel mean and std, resized (bilinear) to the spec's resolution,
split train/validation per class by seed. Results are cached in-process, so that repeated evaluations in a
worker cost nothing. Problems with the data raise ``DatasetError`` naming the path and what is wrong.
"""

from __future__ import annotations

import enum
import io
import os
import pickle
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from searchspace.checks import check_float, check_int
from searchspace.fields import as_dict, check_enum, doc
from workers import shapes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pbm", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"
CIFAR_META = "batches.meta"
CIFAR_LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L")
MAX_PICKLE_BYTES = 256 * 2**20  # a CIFAR-10 batch is 31 MB


class DatasetError(ValueError):
    """The data at ``path`` is missing or malformed; ``message`` says what is wrong."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


class Format(enum.StrEnum):
    """How a dataset directory is laid out (``auto``: told apart by its files)."""

    AUTO = "auto"
    DIGITS = "digits"
    SHAPES = "shapes"
    IMAGEFOLDER = "imagefolder"
    CIFAR10 = "cifar10"


MAX_SOURCE_CHARS = 4096
BUILT_IN = (Format.DIGITS.value, Format.SHAPES.value)  # sources that name no directory


@dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """Which data, and how it is split.

    ``source`` is ``"digits"`` or ``"shapes"`` (built in; shapes is generated from ``seed``) or a directory:
    ImageFolder (one sub-directory of images per class) or CIFAR-10's python layout (``data_batch_1..5``,
    ``test_batch``); ``format='auto'`` tells them apart. A directory path is made absolute on construction.
    ``subset`` keeps that fraction of every class before the split; ``val_fraction`` of what is kept goes to
    validation. For CIFAR-10 both come from the training batches: ``test_batch`` stays untouched for a final
    test.
    """

    source: str = field(default="digits",
                        metadata=doc("'digits' or 'shapes' (built in), an ImageFolder or a CIFAR-10 pickle directory"))
    format: Format = field(default=Format.AUTO,
                           metadata=doc("directory layout; auto tells ImageFolder and CIFAR-10 apart"))
    val_fraction: float = field(default=0.2,
                                metadata=doc("fraction of the kept images held out for validation"))
    subset: float = field(default=1.0, metadata=doc("fraction of every class kept"))
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
        check_int("seed", self.seed, 0, 2**32 - 1)
        object.__setattr__(self, "max_gib", float(check_float("max_gib", self.max_gib, 0.001, 1024.0)))
        for name in BUILT_IN:
            if self.format == name and self.source != name:
                raise DatasetError(self.source, f"format {name!r} takes source {name!r}")
        if self.source not in BUILT_IN:  # workers may run in another directory than the one submitting
            object.__setattr__(self, "source", os.path.abspath(os.path.expanduser(self.source)))

    @property
    def kind(self) -> str:
        """The resolved format: digits, shapes, imagefolder or cifar10."""
        if self.format != Format.AUTO:
            return self.format.value
        if self.source in BUILT_IN:
            return self.source
        root = Path(self.source)
        if any(_lexists(root / name) for name in (*CIFAR_TRAIN, CIFAR_TEST, CIFAR_META)):
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
        limits = _Limits(None if within is None else os.path.realpath(within), time_limit_s)
        return _info(self, _scan(self, limits))

    def load(self, resolution: int, in_chans: int) -> SplitData:
        """The train/validation tensors at ``resolution`` with ``in_chans`` channels (cached in-process)."""
        check_int("resolution", resolution, 8, 2048)
        check_int("in_chans", in_chans, 1, 64)
        return _load(self, resolution, in_chans, _signature(self))

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


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
    """Normalised float tensors (N, C, R, R) and int64 labels of both splits, with the statistics used."""

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    info: DatasetInfo
    resolution: int
    in_chans: int
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())


def stratified_split(labels: np.ndarray, val_fraction: float, subset: float = 1.0,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) indices: per class, a seeded shuffle, keep ``subset`` of it, ``val_fraction`` to val.

    Every class with at least two kept images puts at least one in each split; a larger subset with the same
    seed contains the smaller one.
    """
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
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


def clear_cache() -> None:
    """Forget every cached dataset (raw and resized)."""
    _load.cache_clear()
    _scan_cached.cache_clear()


# --- scanning: what is there, read once per process -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Raw:
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


def _signature(cfg: DatasetConfig) -> int:
    """Changes when the data changes (shapes: its seed; a directory: its entries), so that the cache never serves
    stale data."""
    if cfg.source == Format.SHAPES:
        return cfg.seed
    if cfg.source == Format.DIGITS:
        return 0
    try:
        return os.stat(cfg.source).st_mtime_ns
    except OSError:
        return -1


@dataclass(frozen=True)
class _Limits:
    """What a scan may read: only under ``within`` (a real path) when set, for at most ``time_limit_s``."""

    within: str | None = None
    time_limit_s: float | None = None


class _Scope:
    """A running scan's limits: ``check(path)`` before each file or directory raises DatasetError past them."""

    def __init__(self, limits: _Limits) -> None:
        self.limits = limits
        self.deadline = None if limits.time_limit_s is None else time.monotonic() + limits.time_limit_s

    def check(self, path: str | os.PathLike[str]) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DatasetError(path, f"checking the data took longer than {self.limits.time_limit_s:g} s "
                                     "(stopped here); use fewer or smaller files")

    def confine(self, path: str | os.PathLike[str]) -> None:
        """DatasetError when the symlink ``path`` resolves outside ``within`` (its target is not shown)."""
        if self.limits.within is not None and not Path(os.path.realpath(path)).is_relative_to(self.limits.within):
            raise DatasetError(path, "is a symbolic link pointing outside the service's data root")


def _lexists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def _scan(cfg: DatasetConfig, limits: _Limits = _Limits()) -> _Raw:
    return _scan_cached(cfg.kind, cfg.source, _signature(cfg), limits)


@lru_cache(maxsize=4)
def _scan_cached(kind: str, source: str, signature: int, limits: _Limits) -> _Raw:
    if kind == "digits":
        return _scan_digits()
    if kind == "shapes":
        return _scan_shapes(signature)
    root = Path(source)
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        raise DatasetError(root, "does not exist") from None
    except OSError as err:
        raise DatasetError(root, f"cannot be read: {err.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise DatasetError(root, f"is not a directory (expected {'a CIFAR-10' if kind == 'cifar10' else 'an ImageFolder'} directory)")
    scope = _Scope(limits)
    return _scan_cifar10(root, scope) if kind == "cifar10" else _scan_imagefolder(root, scope)


def _scan_digits() -> _Raw:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]
    names = tuple(str(n) for n in digits.target_names)
    return _Raw(kind="digits", source="digits", labels=digits.target.astype(np.int64), class_names=names,
                in_chans=1, image_size=(8, 8), images=images)


def _scan_shapes(seed: int) -> _Raw:
    images, labels = shapes.generate(seed)
    return _Raw(kind="shapes", source="shapes", labels=labels, class_names=shapes.CLASS_NAMES, in_chans=1,
                image_size=(shapes.SIZE, shapes.SIZE), images=images)


def _scan_imagefolder(root: Path, scope: _Scope) -> _Raw:
    classes = [name for _, name, mode in _entries(root, scope) if mode is not None and stat.S_ISDIR(mode)]
    if len(classes) < 2:
        raise DatasetError(root, f"needs at least two class sub-directories of images, found {len(classes)}")
    files, labels = [], []
    modes: set[str] = set()
    sizes: set[tuple[int, int]] = set()
    for label, name in enumerate(classes):
        found = _image_files(root / name, scope)
        if not found:
            raise DatasetError(root / name, f"holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
        for path in found:
            scope.check(path)
            with _image(path, "cannot be read as an image") as img:
                modes.add(img.mode)
                sizes.add(img.size)
        files += found
        labels += [label] * len(found)
    in_chans = 1 if modes <= {"1", "L", "I", "I;16", "F"} else 3
    size = next(iter(sizes))[::-1] if len(sizes) == 1 else None
    return _Raw(kind="imagefolder", source=str(root), labels=np.asarray(labels, np.int64), class_names=tuple(classes),
                in_chans=in_chans, image_size=size, files=tuple(files))


def _entries(directory: str | os.PathLike[str], scope: _Scope) -> list[tuple[str, str, int | None]]:
    """(path, name, mode or None when it cannot be followed) of the directory's entries by name, hidden ones
    left out; symlinks are confined to the scope."""
    scope.check(directory)
    try:
        with os.scandir(directory) as listing:
            entries = sorted((e for e in listing if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as err:
        raise DatasetError(directory, f"cannot be listed: {err.strerror}") from None
    out = []
    for entry in entries:
        if entry.is_symlink():
            scope.confine(entry.path)
        try:
            mode: int | None = entry.stat().st_mode
        except OSError:  # a dangling link or a link loop
            mode = None
        out.append((entry.path, entry.name, mode))
    return out


def _image_files(top: Path, scope: _Scope) -> list[str]:
    """The image files under ``top`` (symlinked directories followed, each directory once), in walk order.

    A non-regular file named like an image (a FIFO, a socket, a device, a dangling link) is a DatasetError."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack = [str(top)]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError as err:
            raise DatasetError(directory, f"cannot be read: {err.strerror}") from None
        if (st.st_dev, st.st_ino) in seen:  # a symlink loop, or a directory linked twice
            continue
        seen.add((st.st_dev, st.st_ino))
        subdirectories = []
        for path, name, mode in _entries(directory, scope):
            if mode is not None and stat.S_ISDIR(mode):
                subdirectories.append(path)
            elif name.lower().endswith(IMAGE_EXTENSIONS):
                if mode is None or not stat.S_ISREG(mode):
                    raise DatasetError(path, f"is not a regular file ({_file_kind(mode)})")
                found.append(path)
        stack += reversed(subdirectories)
    return found


def _file_kind(mode: int | None) -> str:
    if mode is None:
        return "a dangling symbolic link or a link loop"
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")


def _open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """``path`` opened for reading, only if it is a regular file: opening never blocks (a FIFO is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise DatasetError(path, f"cannot be opened: {err.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DatasetError(path, f"is not a regular file ({_file_kind(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _image(path: str, what: str) -> Iterator[Any]:
    """The PIL image at ``path`` (header read, pixels not yet decoded); DatasetError ``path: what: why`` when it
    is no image, not a regular file, or larger than PIL's decompression-bomb limit."""
    from PIL import Image

    with _open_regular(path) as fh:
        try:
            with Image.open(fh) as img:
                limit = Image.MAX_IMAGE_PIXELS
                if limit is not None and img.size[0] * img.size[1] > limit:
                    raise Image.DecompressionBombError(f"{img.size[0]}x{img.size[1]} pixels, above the limit of "
                                                       f"{limit:,}: a decompression bomb?")
                yield img
        except DatasetError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise DatasetError(path, f"{what}: too large to decode safely ({_pil_message(err)})") from None
        except (OSError, ValueError, EOFError, SyntaxError) as err:
            raise DatasetError(path, f"{what}: {_pil_message(err)}") from None


def _pil_message(err: BaseException) -> str:
    """PIL's message without the file object it may name (``<_io.BufferedReader name=...>``)."""
    text = str(err)
    return text.split(" <_io.", 1)[0].rstrip() or type(err).__name__


_PICKLE_ALLOWED = frozenset({
    ("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
})


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays and nothing else: a data path must never run code."""

    def find_class(self, module: str, name: str) -> Any:
        module = module.replace("numpy.core.", "numpy._core.")
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path, scope: _Scope) -> dict[str, Any]:
    scope.check(path)
    if not _lexists(path):
        raise DatasetError(path, "is missing (a CIFAR-10 directory holds data_batch_1..5 and test_batch)")
    if path.is_symlink():
        scope.confine(path)
    with _open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_PICKLE_BYTES:
            raise DatasetError(path, f"is {size:,} bytes, more than a CIFAR-10 batch ({MAX_PICKLE_BYTES:,} at most)")
        try:
            data = _ArrayUnpickler(io.BufferedReader(fh), encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
                KeyError, OSError, MemoryError) as err:
            raise DatasetError(path, f"is not a CIFAR-10 python pickle: {err}") from None
    if not isinstance(data, dict):
        raise DatasetError(path, f"must hold a dict, found {type(data).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in data.items()}


def _cifar_batch(path: Path, scope: _Scope) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path, scope)
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


def _scan_cifar10(root: Path, scope: _Scope) -> _Raw:
    parts = [_cifar_batch(root / name, scope) for name in CIFAR_TRAIN]
    test_images, _ = _cifar_batch(root / CIFAR_TEST, scope)
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    missing = sorted(set(range(10)) - set(np.unique(labels).tolist()))
    if missing:
        raise DatasetError(root, f"the training batches hold no image of class(es) {missing}")
    names = CIFAR_LABEL_NAMES
    if _lexists(root / CIFAR_META):
        meta = _unpickle(root / CIFAR_META, scope).get("label_names")
        if not isinstance(meta, list) or len(meta) != 10:
            raise DatasetError(root / CIFAR_META, "'label_names' must list the 10 class names")
        names = tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in meta)
    return _Raw(kind="cifar10", source=str(root), labels=labels, class_names=names, in_chans=3,
                image_size=(32, 32), images=images, test_size=len(test_images))


def _info(cfg: DatasetConfig, raw: _Raw) -> DatasetInfo:
    train, val = stratified_split(raw.labels, cfg.val_fraction, cfg.subset, cfg.seed)
    return DatasetInfo(source=raw.source, format=raw.kind, num_classes=len(raw.class_names),
                       class_names=raw.class_names, in_chans=raw.in_chans, image_size=raw.image_size,
                       num_images=len(raw.labels), train_size=len(train), val_size=len(val), test_size=raw.test_size)


# --- loading: resized, channel-matched, normalised tensors --------------------------------------------------


@lru_cache(maxsize=4)
def _load(cfg: DatasetConfig, resolution: int, in_chans: int, signature: int) -> SplitData:
    import torch

    raw = _scan(cfg)
    info = _info(cfg, raw)
    train_idx, val_idx = stratified_split(raw.labels, cfg.val_fraction, cfg.subset, cfg.seed)
    n = len(train_idx) + len(val_idx)
    gib = n * in_chans * resolution**2 * 4 / 2**30
    if gib > cfg.max_gib:
        raise DatasetError(raw.source, f"{n} images at {in_chans}x{resolution}x{resolution} need {gib:.1f} GiB "
                                       f"(max_gib={cfg.max_gib:g}); lower the subset or the resolution")
    if raw.in_chans != in_chans and raw.in_chans != 1 and not (raw.in_chans == 3 and in_chans == 1):
        raise DatasetError(raw.source, f"has {raw.in_chans}-channel images; the network takes {in_chans}")
    order = np.concatenate([train_idx, val_idx])
    x = _decode(raw, order, resolution, in_chans) if raw.files else _resize(raw.images[order], resolution, in_chans)
    x_train, x_val = x[: len(train_idx)], x[len(train_idx):]
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3)).clamp_min(1e-6)
    x.sub_(mean[:, None, None]).div_(std[:, None, None])
    labels = torch.from_numpy(raw.labels)
    return SplitData(
        x_train=x_train, y_train=labels[train_idx].contiguous(), x_val=x_val, y_val=labels[val_idx].contiguous(),
        info=info, resolution=resolution, in_chans=in_chans, mean=tuple(mean.tolist()), std=tuple(std.tolist()),
    )


def _resize(images: np.ndarray, resolution: int, in_chans: int, chunk: int = 1024) -> Any:
    """(N, C, H, W) uint8 or [0, 1] float array -> float tensor (N, in_chans, R, R) in [0, 1], bilinear."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = images.shape
    out = torch.empty(n, in_chans, resolution, resolution)
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    luma = torch.tensor(_LUMA).view(1, 3, 1, 1)
    for i in range(0, n, chunk):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + chunk])).float().mul_(scale)
        if c == 3 and in_chans == 1:
            x = (x * luma).sum(1, keepdim=True)
        if (h, w) != (resolution, resolution):
            x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                              antialias=resolution < min(h, w))
        out[i:i + chunk] = x.expand(-1, in_chans, -1, -1) if x.shape[1] == 1 else x
    return out


def _decode(raw: _Raw, order: np.ndarray, resolution: int, in_chans: int) -> Any:
    """Decode and resize (PIL bilinear) the selected image files; float tensor (N, in_chans, R, R) in [0, 1]."""
    import torch
    from PIL import Image

    mode = "L" if in_chans == 1 or raw.in_chans == 1 else "RGB"

    def one(path: str) -> np.ndarray:
        with _image(path, "cannot be decoded") as img:
            img = img.convert(mode)
            if img.size != (resolution, resolution):
                img = img.resize((resolution, resolution), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(one, [raw.files[i] for i in order]))
    x = torch.from_numpy(np.stack(arrays))
    x = x[:, None] if mode == "L" else x.permute(0, 3, 1, 2)
    x = x.float().div_(255)
    return x.expand(-1, in_chans, -1, -1).contiguous() if x.shape[1] != in_chans else x.contiguous()
