"""Dataset formats and the constants of their layouts (file extensions, CIFAR-10 batch names, size limits)."""

from __future__ import annotations

import enum

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pbm", ".bmp", ".gif", ".tif", ".tiff", ".webp")


CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


CIFAR_TEST = "test_batch"


CIFAR_META = "batches.meta"


CIFAR_LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L")


MAX_PICKLE_BYTES = 256 * 2**20  # a CIFAR-10 batch is 31 MB


MAX_SHIPPED_BYTES = 512 * 2**20  # larger data is read by every node from a path they all mount


class Format(enum.StrEnum):
    """How a dataset directory is laid out (``auto``: told apart by its files)."""

    AUTO = "auto"
    DIGITS = "digits"
    SHAPES = "shapes"
    IMAGEFOLDER = "imagefolder"
    CIFAR10 = "cifar10"


MAX_SOURCE_CHARS = 4096


BUILT_IN = (Format.DIGITS.value, Format.SHAPES.value)  # sources that name no directory
# The generated box (detection) sets (workers.detection.builtin): no directory either, and no classification data.
BOX_BUILT_IN = ("builtin-boxes", "builtin-boxes-small")
