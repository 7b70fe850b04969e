"""Generic JSON-dict and one-line-token codecs for the frozen spec dataclasses.

Every spec dataclass round-trips through ``to_dict``/``from_dict`` (plain JSON types) and through a compact
token ``prefix:key=value,...`` that lists only the fields that differ from their defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar

from searchspace.errors import SpecError

T = TypeVar("T")

# Short keys for the one-line form; any field not listed here uses its own name.
ABBREVIATIONS: dict[str, str] = {
    "out_chs": "c",
    "stride": "s",
    "kernel": "k",
    "expansion": "e",
    "se_ratio": "se",
    "act": "a",
}
_FROM_ABBREVIATION = {v: k for k, v in ABBREVIATIONS.items()}


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass's init fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def to_dict(obj: Any) -> dict[str, Any]:
    """A spec dataclass as JSON-ready data (tuples become lists, nested specs become dicts)."""
    return {name: _plain(getattr(obj, name)) for name in field_types(type(obj))}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        data = to_dict(value)
        kind = getattr(type(value), "kind", None)
        return {"kind": kind, **data} if isinstance(kind, str) else data
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Construct ``cls`` from JSON data, rejecting unknown keys; errors name the full field path."""
    if not isinstance(data, dict):
        raise SpecError(path or cls.__name__, f"must be a JSON object, got {type(data).__name__}")
    allowed = field_types(cls)
    unknown = sorted(set(map(str, data)) - set(allowed))
    if unknown:
        name = unknown[0][:60]
        raise SpecError(_join(path, name), f"unknown field; allowed fields: {', '.join(allowed)}")
    kwargs = {k: _listless(v) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except SpecError as err:
        raise err.within(path) if path else err
    except TypeError as err:  # a required field is missing
        raise SpecError(path or cls.__name__, str(err).split("() ", 1)[-1]) from None


def _listless(value: Any) -> Any:
    return tuple(_listless(v) for v in value) if isinstance(value, list) else value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def to_token(obj: Any, prefix: str) -> str:
    """``prefix:key=value,...`` for the fields that differ from their defaults."""
    parts = []
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default and type(value) is type(f.default):
            continue
        parts.append(f"{ABBREVIATIONS.get(f.name, f.name)}={_format(value)}")
    return f"{prefix}:{','.join(parts)}"


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "x".join(_format(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def from_token(cls: type[T], token: str, path: str = "") -> T:
    """Inverse of ``to_token`` (the prefix already stripped): ``key=value,...``."""
    types_ = field_types(cls)
    kwargs: dict[str, Any] = {}
    for part in filter(None, token.split(",")):
        key, sep, raw = part.partition("=")
        name = _FROM_ABBREVIATION.get(key, key)
        if not sep or name not in types_:
            raise SpecError(_join(path, key[:60]), f"unknown field in {part[:80]!r}; allowed: {', '.join(types_)}")
        kwargs[name] = _parse(types_[name], raw, _join(path, name))
    return from_dict(cls, kwargs, path)


def _parse(hint: Any, raw: str, field: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        if raw == "none":
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    try:
        if origin is tuple:
            inner = typing.get_args(hint)[0]
            return tuple(_parse(inner, r, field) for r in raw.split("x")) if raw else ()
        if hint is bool:
            return {"true": True, "false": False}[raw]
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
    except (KeyError, ValueError):
        raise SpecError(field, f"cannot parse {raw[:60]!r} as {getattr(hint, '__name__', hint)}") from None
    return raw
