"""A network plan (``Call`` tree) as layout nodes for ``build_model``: module classes by name, every argument
checked against its constructor's type hints, defaults left out, the shared batch-norm settings as ``**bn``."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any

from torch import nn

from searchspace.export.base import ExportError
from searchspace.export.hints import WORD, container_ok, is_union, matches_hint, member_hint
from searchspace.export.layout import Group, Node, float_literal, int_literal
from searchspace.nn.plan import Arg, Call


@functools.cache
def _signature(fn: Any) -> tuple[inspect.Signature, dict[str, Any]]:
    return inspect.signature(fn), typing.get_type_hints(fn.__init__)


class CallWriter:
    """Turns a Call tree into layout nodes, checking every value against the constructor's type hints."""

    def __init__(self, shared: dict[str, float]) -> None:
        self.shared = shared
        self.root = ""
        self.classes: list[type] = []
        self.args: dict[str, Arg] = {}

    def node(self, value: Any, hint: Any, where: str) -> Node:
        if isinstance(value, Call):
            return self._call(value, hint, where)
        if isinstance(value, Arg):
            if not WORD.fullmatch(value.name) or (
                value.name in self.args and self.args[value.name] is not value
            ):
                raise ExportError(where, f"bad build_model parameter {value.name[:40]!r}")
            self._check(value.value, hint, where)
            self.args[value.name] = value
            return value.name
        return self._plain(value, hint, where)

    def _call(self, call: Call, hint: Any, where: str) -> Node:
        fn = call.fn
        name = self._class_name(fn, where)
        self.root = self.root or name
        if not self._accepts_class(hint, fn):
            raise ExportError(where, f"{name} where {hint} is expected")
        sig, hints = _signature(fn)
        unknown = set(call.kwargs) - set(sig.parameters)
        if unknown:
            raise ExportError(where, f"{name} takes no argument {min(unknown)!r}")
        items: list[tuple[str, Node]] = []
        keywords = False
        use_shared = bool(self.shared) and all(
            k in call.kwargs and call.kwargs[k] == v and type(call.kwargs[k]) is type(v)
            for k, v in self.shared.items()
        )
        for pname, param in sig.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if pname not in call.kwargs:
                if param.default is param.empty:
                    raise ExportError(where, f"{name} needs {pname!r}")
                continue
            value = call.kwargs[pname]
            if use_shared and pname in self.shared:
                continue
            node = self.node(value, hints.get(pname, Any), f"{where}.{pname}")
            required = param.default is param.empty
            if required and isinstance(node, str) and not keywords:
                items.append(("", node))  # leading required numbers go positionally: MBConv(32, 192, 48, ...)
            elif required or not (type(value) is type(param.default) and value == param.default):
                keywords = True
                items.append((f"{pname}=", node))
        if use_shared:
            items.append(("", "**bn"))
        return Group(f"{name}(", items, ")")

    def _class_name(self, fn: Any, where: str) -> str:
        if not isinstance(fn, type) or not issubclass(fn, nn.Module):
            raise ExportError(
                where,
                f"cannot be exported: it is built by {getattr(fn, '__qualname__', fn)!r}, "
                "not by a module class from plain arguments",
            )
        if fn.__module__.startswith("searchspace.nn."):
            if fn not in self.classes:
                self.classes.append(fn)
            return fn.__name__
        if getattr(nn, fn.__name__, None) is fn:
            return f"nn.{fn.__name__}"
        raise ExportError(where, f"{fn.__qualname__} is neither a searchspace module nor a torch.nn layer")

    @staticmethod
    def _accepts_class(hint: Any, fn: type) -> bool:
        options = typing.get_args(hint) if is_union(hint) else (hint,)
        return any(o is Any or (isinstance(o, type) and issubclass(fn, o)) for o in options)

    def _plain(self, value: Any, hint: Any, where: str) -> Node:
        if isinstance(value, tuple | list | dict):
            if not container_ok(value, hint):
                raise ExportError(where, f"expected {hint}, got {type(value).__name__} of {len(value)}")
            if isinstance(value, dict):
                inner = member_hint(hint, dict, 1)
                items = [(f'"{k}": ', self.node(v, inner, f"{where}.{k}")) for k, v in value.items()]
                return Group("{", items, "}")
            container = type(value)
            items = [
                ("", self.node(v, member_hint(hint, container, i), f"{where}[{i}]"))
                for i, v in enumerate(value)
            ]
            return Group("(", items, ")") if container is tuple else Group("[", items, "]")
        self._check(value, hint, where)
        if value is None:
            return "None"
        if isinstance(value, bool):
            return repr(value)
        if isinstance(value, int):
            return int_literal(value, where)
        if isinstance(value, float):
            return float_literal(value, where)
        return f'"{value}"'

    def _check(self, value: Any, hint: Any, where: str) -> None:
        """Raise ExportError unless ``value`` is plain data of type ``hint`` (numbers, enums, containers)."""
        if not matches_hint(value, hint):
            shown = type(value).__name__ if not isinstance(value, int | float) else repr(value)
            raise ExportError(where, f"expected {hint}, got {shown[:60]}")
