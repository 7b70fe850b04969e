"""Declaring a config dataclass's fields once, for every reader (the API's request models, the command line).

``field(default=..., metadata=doc("..."))`` keeps a field's description in its ``metadata``; choice fields are
``enum.StrEnum`` members, which compare equal to (and JSON-encode as) their plain strings. ``check_enum`` turns
a plain string into its member; ``as_dict`` gives the plain JSON form, enum members as ``str``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, TypeVar

from searchspace.checks import _show
from searchspace.errors import SpecError

E = TypeVar("E", bound=enum.StrEnum)


def doc(text: str) -> dict[str, str]:
    """A field's metadata holding its description: ``field(default=1.0, metadata=doc("fraction kept"))``."""
    return {"doc": text}


def description(field: dataclasses.Field[Any]) -> str:
    """The description a field was declared with ("" if none)."""
    return field.metadata.get("doc", "")


def default_of(field: dataclasses.Field[Any]) -> Any:
    """The value a field takes when it is not given (``dataclasses.MISSING`` if it is required)."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def choices(kind: type[enum.StrEnum]) -> tuple[str, ...]:
    """The plain string of every member, in declaration order."""
    return tuple(member.value for member in kind)


def check_enum(field: str, value: Any, kind: type[E]) -> E:
    """``value`` (a member or its string) as a member of ``kind``; SpecError naming ``field`` otherwise."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise SpecError(field, f"must be one of {', '.join(choices(kind))}; got {_show(value)}")


def plain(value: Any) -> Any:
    """An enum member as its plain value; anything else unchanged."""
    return value.value if isinstance(value, enum.Enum) else value


def as_dict(obj: Any) -> dict[str, Any]:
    """A flat config dataclass as JSON-ready data, in field order (enum members as plain strings)."""
    return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
