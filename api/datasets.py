"""Datasets named by a request: confined to NAS_DATA_ROOT, checked within a time limit, and shown relative to it.

A request names a directory relative to the data root; the stored config holds its absolute path (the driver
reads it), and every response shows it, and any path in an error, relative to the root again, so that no
response reveals where the server keeps its files.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from api.derive import within
from api.schemas import ArchitecturePublic, DatasetIn
from searchspace.errors import SpecError
from store.settings import Settings
from workers.data import BOX_BUILT_IN, BUILT_IN, DatasetConfig


def checked_dataset(body: DatasetIn, settings: Settings) -> DatasetConfig:
    """The request's dataset, its directory resolved under NAS_DATA_ROOT and its data checked.

    Without a data root only the built-in 'digits' and 'shapes' are accepted, so that requests cannot probe the server's disk.
    The check reads only regular files, refuses symlinks leading out of the root and stops after
    ``NAS_DATASET_CHECK_S``; each failure is a DatasetError naming the file.
    """
    dataset = within("dataset", body.to_config)  # ranges first (the directory is resolved below)
    if dataset.source in (*BUILT_IN, *BOX_BUILT_IN):  # a box set: a DatasetError saying to set task detection
        dataset.validate()
        return dataset
    dataset, root = _under_root(dataset, body.source, settings, BUILT_IN)
    dataset.validate(within=root, time_limit_s=settings.dataset_check_s)
    return dataset


def checked_boxes(body: DatasetIn, settings: Settings) -> DatasetConfig:
    """A detection search's dataset: a generated box set, or a COCO, VOC or YOLO directory under NAS_DATA_ROOT
    whose annotations are read and checked as ``checked_dataset`` checks images (a bad box is an AnnotationError
    naming the file and the annotation's index)."""
    from workers.search import box_data

    dataset = within("dataset", body.to_config)
    if dataset.source in (*BUILT_IN, *BOX_BUILT_IN):  # the search config says which task each one is for
        return dataset
    dataset, root = _under_root(dataset, body.source, settings, BOX_BUILT_IN)
    box_data(dataset).read(within=root, time_limit_s=settings.dataset_check_s)
    return dataset


def _under_root(dataset: DatasetConfig, source: str, settings: Settings,
                built_in: tuple[str, ...]) -> tuple[DatasetConfig, Path]:
    """``dataset`` with the request's ``source`` resolved under the data root, and the root; SpecError when it
    is elsewhere or the service has no data root (then only ``built_in`` are allowed)."""
    if settings.data_root is None:
        raise SpecError("dataset.source", f"only {' and '.join(map(repr, built_in))} are allowed: this service has "
                                          "no NAS_DATA_ROOT")
    root = Path(os.path.realpath(settings.data_root))
    path = Path(os.path.realpath(root / source))  # never raises (a symlink loop stays unresolved)
    if not path.is_relative_to(root):
        raise SpecError("dataset.source", "must be a directory under the service's data root (NAS_DATA_ROOT)")
    return replace(dataset, source=str(path)), root


def hide_data_root(value: Any, settings: Settings) -> Any:
    """``value`` (a string, or dicts and lists of them) with every path under the data root made relative to it
    (``/srv/data/cats/x.png`` -> ``cats/x.png``, the root itself -> ``.``)."""
    if settings.data_root is None:
        return value
    pattern = _root_pattern(str(settings.data_root.absolute()), os.path.realpath(settings.data_root))
    return _replace_strings(value, lambda text: pattern.sub(_relative, text))


def public_architecture(row: Any, settings: Settings) -> ArchitecturePublic:
    """The stored architecture as a response, with any data path in its error or details made relative."""
    arch = ArchitecturePublic.model_validate(row)
    if settings.data_root is None or (arch.error is None and not arch.details and arch.trained is None):
        return arch
    return arch.model_copy(update={"error": hide_data_root(arch.error, settings),
                                   "details": hide_data_root(arch.details, settings),
                                   "trained": hide_data_root(arch.trained, settings)})


@functools.lru_cache(maxsize=8)
def _root_pattern(*roots: str) -> re.Pattern[str]:
    spelt = sorted({r.rstrip("/") or "/" for r in roots}, key=len, reverse=True)
    return re.compile(f"(?<![\\w.~/-])(?:{'|'.join(map(re.escape, spelt))})(/|(?![\\w.~/-]))")


def _relative(match: re.Match[str]) -> str:
    return "" if match.group(1) == "/" else "."


def _replace_strings(value: Any, change: Any) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _replace_strings(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_strings(v, change) for v in value]
    return value
