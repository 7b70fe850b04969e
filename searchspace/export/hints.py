"""Whether a value is plain data of a constructor's type hint: numbers in range, short lower-case words (enum
values, keys, parameter names), None, and containers of them. Nothing else reaches a generated file."""

from __future__ import annotations

import math
import re
import types
import typing
from typing import Any

from searchspace.export.layout import MAX_INT
from searchspace.nn.plan import Arg, Call

WORD = re.compile(r"[a-z][a-z0-9_]{0,31}")  # the only strings written: enum values, keys, parameter names


def is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def member_hint(hint: Any, container: type, index: int) -> Any:
    """The hint of item ``index`` of a container hinted ``hint`` (``Any`` when it is not narrower)."""
    options = typing.get_args(hint) if is_union(hint) else (hint,)
    for option in options:
        if typing.get_origin(option) is container:
            args = typing.get_args(option)
            if container is tuple:
                return args[0] if len(args) == 2 and args[1] is Ellipsis else args[min(index, len(args) - 1)]
            return args[-1] if args else Any
    return Any


def container_ok(value: tuple | list | dict, hint: Any) -> bool:
    """``value`` is the container kind ``hint`` allows (``Any`` allows plain tuples only)."""
    if hint is Any:
        return isinstance(value, tuple)
    for option in typing.get_args(hint) if is_union(hint) else (hint,):
        origin, args = typing.get_origin(option), typing.get_args(option)
        if origin is not type(value):
            continue
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and len(args) != len(value):
            continue
        if origin is dict and not all(isinstance(k, str) and WORD.fullmatch(k) for k in value):
            continue
        return True
    return False


def matches_hint(value: Any, hint: Any) -> bool:
    if isinstance(value, Call | Arg):
        return isinstance(value, Arg) and matches_hint(value.value, hint)
    if hint is Any:
        return plain_ok(value)
    if is_union(hint):
        return any(matches_hint(value, option) for option in typing.get_args(hint))
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str) and bool(WORD.fullmatch(value))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(matches_hint(v, args[0]) for v in value)
        return len(args) == len(value) and all(matches_hint(v, a) for v, a in zip(value, args, strict=True))
    if origin is list:
        return isinstance(value, list) and all(matches_hint(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and WORD.fullmatch(k) and matches_hint(v, args[1]) for k, v in value.items()
        )
    return False


def plain_ok(value: Any) -> bool:
    """Plain data under an ``Any`` hint: numbers, enum strings, None and tuples of them."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -MAX_INT <= value <= MAX_INT
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return bool(WORD.fullmatch(value))
    if isinstance(value, tuple):
        return all(plain_ok(v) for v in value)
    return False
