"""Reading a configuration dataclass whose fields nest other configurations (a ``DatasetConfig``, a training
budget, a search space, ...) from its JSON form, with errors naming the field path."""

from __future__ import annotations

from typing import Any, TypeVar

from searchspace.codec import from_dict
from searchspace.errors import SpecError
from searchspace.space import SearchSpace
from workers.data.errors import DatasetError

T = TypeVar("T")


def nested_from_dict(cls: type[T], data: Any, nested: dict[str, type], what: str = "config") -> T:
    """``cls`` from JSON ``data`` whose ``nested`` fields (name -> config class) and ``space`` (a SearchSpace) are
    JSON objects; a dataset problem is a SpecError on ``dataset.source``, anything else names its field path. A
    nested class with a ``from_dict`` of its own (one that nests further) reads its field with it."""
    if not isinstance(data, dict):
        raise SpecError(what, "must be a JSON object")
    fields = dict(data)
    for name, sub in nested.items():
        if name in fields:
            try:
                own = getattr(sub, "from_dict", None)
                fields[name] = from_dict(sub, fields[name], name) if own is None else own(fields[name])
            except DatasetError as err:
                raise SpecError("dataset.source", err.message) from None
            except SpecError as err:
                raise (err if own is None else err.within(name)) from None
    if "space" in fields:
        try:
            fields["space"] = SearchSpace.from_dict(fields["space"])
        except SpecError as err:
            raise err.within("space") from None
    return from_dict(cls, fields)
