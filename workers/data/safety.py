"""Reading a user's directory safely: confinement under a root, a time limit, regular files only, bounded image decoding and a restricted unpickler."""

from __future__ import annotations

import io
import os
import pickle
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workers.data.errors import DatasetError
from workers.data.formats import IMAGE_EXTENSIONS, MAX_PICKLE_BYTES


@dataclass(frozen=True)
class Limits:
    """What a scan may read: only under ``within`` (a real path) when set, for at most ``time_limit_s``."""

    within: str | None = None
    time_limit_s: float | None = None


class Scope:
    """A running scan's limits: ``check(path)`` before each file or directory raises DatasetError past them."""

    def __init__(self, limits: Limits) -> None:
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


def lexists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def entries(directory: str | os.PathLike[str], scope: Scope) -> list[tuple[str, str, int | None]]:
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


def image_files(top: Path, scope: Scope) -> list[str]:
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
        for path, name, mode in entries(directory, scope):
            if mode is not None and stat.S_ISDIR(mode):
                subdirectories.append(path)
            elif name.lower().endswith(IMAGE_EXTENSIONS):
                if mode is None or not stat.S_ISREG(mode):
                    raise DatasetError(path, f"is not a regular file ({file_kind(mode)})")
                found.append(path)
        stack += reversed(subdirectories)
    return found


def file_kind(mode: int | None) -> str:
    if mode is None:
        return "a dangling symbolic link or a link loop"
    return ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")


def open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """``path`` opened for reading, only if it is a regular file: opening never blocks (a FIFO is refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise DatasetError(path, f"cannot be opened: {err.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DatasetError(path, f"is not a regular file ({file_kind(mode)})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def open_image(path: str, what: str, blob: bytes | None = None) -> Iterator[Any]:
    """The PIL image at ``path`` (or in ``blob``, the shipped bytes of that file: header read, pixels not yet
    decoded); DatasetError ``path: what: why`` when it is no image, not a regular file, or larger than PIL's
    decompression-bomb limit."""
    from PIL import Image

    with (open_regular(path) if blob is None else io.BytesIO(blob)) as fh:
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
            raise DatasetError(path, f"{what}: too large to decode safely ({pil_message(err)})") from None
        except (OSError, ValueError, EOFError, SyntaxError) as err:
            raise DatasetError(path, f"{what}: {pil_message(err)}") from None


def pil_message(err: BaseException) -> str:
    """PIL's message without the file object it may name (``<_io.BufferedReader name=...>``)."""
    text = str(err)
    return text.split(" <_io.", 1)[0].rstrip() or type(err).__name__


PICKLE_ALLOWED = frozenset({
    ("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
})


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays and nothing else: a data path must never run code."""

    def find_class(self, module: str, name: str) -> Any:
        module = module.replace("numpy.core.", "numpy._core.")
        if (module, name) not in PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def unpickle(path: Path, scope: Scope) -> dict[str, Any]:
    scope.check(path)
    if not lexists(path):
        raise DatasetError(path, "is missing (a CIFAR-10 directory holds data_batch_1..5 and test_batch)")
    if path.is_symlink():
        scope.confine(path)
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_PICKLE_BYTES:
            raise DatasetError(path, f"is {size:,} bytes, more than a CIFAR-10 batch ({MAX_PICKLE_BYTES:,} at most)")
        try:
            data = ArrayUnpickler(io.BufferedReader(fh), encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
                KeyError, OSError, MemoryError) as err:
            raise DatasetError(path, f"is not a CIFAR-10 python pickle: {err}") from None
    if not isinstance(data, dict):
        raise DatasetError(path, f"must hold a dict, found {type(data).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in data.items()}
