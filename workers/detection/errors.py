"""The error a box dataset raises for one bad annotation: the file, the annotation's index and what is wrong."""

from __future__ import annotations

import os

from workers.data import DatasetError


class AnnotationError(DatasetError):
    """Annotation ``index`` (its position in the file, from 0; None for the file as a whole) of ``path`` is
    malformed: a box outside the image, inverted, of zero area, of an unknown class, or unreadable."""

    def __init__(self, path: str | os.PathLike[str], index: int | None, message: str) -> None:
        self.index = index
        super().__init__(path, message if index is None else f"annotation {index}: {message}")
