"""A network construction as data: the builder instantiates it, the exporter writes it out as source.

Both read the same ``Call`` tree, so the exported file builds exactly the module the builder builds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class Arg:
    """A parameter of the exported ``build_model`` (such as ``num_classes``), with the spec's value."""

    name: str
    value: Any


@dataclass(frozen=True, eq=False)
class Call:
    """``fn(**kwargs)``; values are numbers, strings, flags, None, tuples, lists, nested calls or ``Arg``s."""

    fn: Callable[..., Any]
    kwargs: Mapping[str, Any]

    def build(self) -> Any:
        return self.fn(**{name: _build(value) for name, value in self.kwargs.items()})


def _build(value: Any) -> Any:
    if isinstance(value, Call):
        return value.build()
    if isinstance(value, Arg):
        return value.value
    if isinstance(value, list | tuple):
        return type(value)(_build(v) for v in value)
    return value
