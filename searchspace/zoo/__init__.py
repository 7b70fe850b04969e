"""Reference networks rebuilt as ArchSpecs, with the published sizes they must match.

Each family module exposes ``NETWORKS``: name -> zero-argument factory returning the ArchSpec.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from searchspace.spec import ArchSpec

_FAMILIES = ("efficientnet", "mobilenet", "mobilenetv3", "mnasnet", "ghostnet", "micronet", "shufflenet", "squeezenet")


class UnknownNetworkError(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown zoo network {self.name!r:.80}; known: {', '.join(self.known)}"


@functools.cache
def _registry() -> dict[str, Callable[[], ArchSpec]]:
    networks: dict[str, Callable[[], ArchSpec]] = {}
    for family in _FAMILIES:
        try:
            module = importlib.import_module(f"searchspace.zoo.{family}")
        except ModuleNotFoundError as err:
            if err.name != f"searchspace.zoo.{family}":
                raise
            continue
        networks.update(module.NETWORKS)
    return networks


def names() -> list[str]:
    return list(_registry())


@functools.cache
def get(name: str) -> ArchSpec:
    """The ArchSpec of zoo network ``name`` (1000 classes, its published resolution)."""
    try:
        return _registry()[name]()
    except KeyError:
        raise UnknownNetworkError(name, names()) from None


@functools.cache
def published() -> dict[str, dict[str, Any]]:
    """Published and reference-implementation sizes, keyed by network name."""
    text = resources.files(__package__).joinpath("published.json").read_text()
    return {entry["name"]: entry for entry in json.loads(text)["networks"]}
