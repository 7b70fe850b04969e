"""The one error the data layer raises: a path (or source) and what is wrong with it."""

from __future__ import annotations

import os


class DatasetError(ValueError):
    """The data at ``path`` is missing or malformed; ``message`` says what is wrong."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")
