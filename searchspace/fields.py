"""Declaring a config dataclass's fields once, for every reader (the API's request models, the command line).

``field(default=..., metadata=doc("..."))`` keeps a field's description in its ``metadata``; choice fields are
``enum.StrEnum`` members, which compare equal to (and JSON-encode as) their plain strings. ``check_enum`` turns
a plain string into its member; ``as_dict`` gives the plain JSON form, enum members as ``str``.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import typing
from typing import Any, TypeVar

from searchspace.checks import _show
from searchspace.codec import field_types
from searchspace.errors import SpecError

E = TypeVar("E", bound=enum.StrEnum)


def doc(text: str, *, may_be_empty: bool = False) -> dict[str, Any]:
    """A field's metadata holding its description: ``field(default=1.0, metadata=doc("fraction kept"))``;
    ``may_be_empty`` lets a list field be given as ``[]`` (request models ask for at least one item otherwise)."""
    return {"doc": text, "may_be_empty": True} if may_be_empty else {"doc": text}


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


# --- the command line -----------------------------------------------------------------------------------------


def field_at(cls: type, path: str) -> tuple[dataclasses.Field[Any], Any, Any]:
    """The field of config class ``cls`` at a dotted ``path``, its type (None stripped) and its default value."""
    kind, value = cls, cls()
    for name in path.split("."):
        field = next(f for f in dataclasses.fields(kind) if f.name == name)
        kind, value = field_types(kind)[name], getattr(value, name)
    kinds = [t for t in typing.get_args(kind) if t is not type(None)] or [kind]
    return field, kinds[0], value


def flag_dest(flag: str) -> str:
    return flag[2:].replace("-", "_")


def add_field_flag(parser: argparse.ArgumentParser, flag: str, cls: type, path: str, **overrides: Any) -> None:
    """A command-line flag setting the field at ``path``: its type, choices, default and help from the field
    (``overrides`` replace argparse options, e.g. a ``type`` that also accepts a word)."""
    field, kind, default = field_at(cls, path)
    shown = "none" if default is None else plain(default)
    help_text = f"{description(field)} (default {shown})".replace("%", "%%")  # argparse formats help with %
    options: dict[str, Any] = {"dest": flag_dest(flag), "help": help_text}
    if kind is bool:  # a switch; not given is None, so that a config file's value stands
        options.update(action="store_true", default=None)
    elif isinstance(kind, type) and issubclass(kind, enum.StrEnum):
        options["choices"] = choices(kind)
    else:
        options["type"] = kind
    parser.add_argument(flag, **{**options, **overrides})


def set_flags(data: dict[str, Any], args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """``data`` (a config's JSON form) with the value of every flag given on the command line set at its path."""
    for flag, path in flags.items():
        value = getattr(args, flag_dest(flag), None)
        if value is None or value is False:
            continue
        *parents, name = path.split(".")
        node = data
        for parent in parents:
            node = node.setdefault(parent, {})
            if not isinstance(node, dict):
                raise SpecError(parent, "must be a JSON object")
        node[name] = value
    return data


def flag_error(err: SpecError, flags: dict[str, str], args: argparse.Namespace,
               from_file: dict[str, Any] | None = None) -> SpecError:
    """``err`` naming the command-line flag of its field (``--epochs``, not ``budget.epochs``), unless the value
    came from the config file ``from_file`` and not from the flag; ``err`` itself when no flag sets that field."""
    for flag, path in flags.items():
        if err.field != path and not err.field.startswith((path + ".", path + "[")):
            continue
        given = getattr(args, flag_dest(flag), None) not in (None, False)
        if given or not _holds(from_file or {}, path):
            return SpecError(flag, err.message)
    return err


def _holds(data: dict[str, Any], path: str) -> bool:
    node: Any = data
    for name in path.split("."):
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True
