"""Render an ArchSpec as one standalone PyTorch file.

The file holds the source of exactly the module classes and helpers the network uses (read with ``inspect``
from ``searchspace.nn``, dependencies first), ``INPUT_SIZE`` and a ``build_model`` function that constructs the
network from the same ``Call`` tree the builder instantiates (``searchspace.assembly.network_plan``). Every
value written into ``build_model`` is checked against the constructor's type hints and written as the ``repr``
of a number or of a short lower-case enum string, so nothing from the spec reaches the source in any other way.
"""

from __future__ import annotations

import ast
import collections
import functools
import inspect
import math
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from searchspace.export.base import ExportError
from searchspace.export.header import INDENT, LINE_LENGTH, classifier_header
from searchspace.export.safety import check_source
from searchspace.nn.plan import Arg, Call
from searchspace.spec import ArchSpec

MAX_INT = 2**31 - 1
_WORD = re.compile(r"[a-z][a-z0-9_]{0,31}")  # the only strings written: enum values, keys, parameter names
_HEADER = re.compile(r"[A-Za-z0-9 _.,:;=+*\-()/'\n]*")

# Names the copied sources may take from outside searchspace, and the import line each needs.
IMPORTS: dict[int, tuple[str, str]] = {
    id(torch): ("torch", "import torch"),
    id(nn): ("nn", "from torch import nn"),
    id(collections.OrderedDict): ("OrderedDict", "from collections import OrderedDict"),
    id(math): ("math", "import math"),
    id(typing.Any): ("Any", "from typing import Any"),
}
_IMPORT_ORDER = [
    "import math",
    "from collections import OrderedDict",
    "from typing import Any",
    "",
    "import torch",
    "from torch import nn",
]


def render_python(spec: ArchSpec, plan: Call, features: bool = False) -> str:
    """The source of the standalone file for a validated ``spec`` and its network plan."""
    if features:
        doc = "The network, returning the feature maps at strides 8, 16 and 32."
    else:
        doc = f"The network with ``num_classes`` outputs (the spec has {spec.num_classes})."
    shared = {"bn_eps": spec.bn_eps, "bn_momentum": spec.bn_momentum}
    size = (spec.in_chans, spec.resolution, spec.resolution)
    return render_plan(plan, header=classifier_header(spec, features), doc=doc, input_size=size, shared=shared)


def render_plan(
    plan: Call, *, header: str, doc: str, input_size: tuple[int, int, int], shared: dict[str, float]
) -> str:
    """The standalone file for any module plan: ``header`` as its docstring, the copied module sources,
    ``INPUT_SIZE`` and ``build_model`` (with ``doc``); ``shared`` batch-norm settings that differ from PyTorch's
    are written once as ``bn``."""
    defaults = {"bn_eps": 1e-5, "bn_momentum": 0.1}
    writer = _Writer({k: v for k, v in shared.items() if v != defaults[k]})
    call = writer.node(plan, nn.Module, "network")
    network_module = plan.fn.__module__
    sources = _Sources()
    for cls in sorted(writer.classes, key=lambda c: (c.__module__ == network_module, c is plan.fn)):
        sources.add(cls)
    body = _build_model(call, writer, doc)
    imports = [line for line in _IMPORT_ORDER if not line or line in sources.imports]
    while imports and not imports[0]:
        imports.pop(0)
    if imports and not imports[-1]:
        imports.pop()
    if not _HEADER.fullmatch(header):
        raise ExportError("header", "holds characters outside the allowed set")
    size = ", ".join(_int(v, "input size") for v in input_size)
    top = "\n\n".join([f'"""{header}\n"""', "\n".join(imports), f"INPUT_SIZE = ({size})"])
    text = "\n\n\n".join([top, *sources.texts, body]) + "\n"
    tree = check_source(text)
    if ast.get_docstring(tree, clean=False) != header + "\n":
        raise ExportError("header", "does not survive as the module docstring")
    return text


def _build_model(call: Node, writer: _Writer, doc: str) -> str:
    params = [f"{arg.name}: int = {_int(arg.value, arg.name)}" for arg in writer.args.values()]
    lines = [f"def build_model({', '.join(params)}) -> {writer.root}:", f'{INDENT}"""{doc}"""']
    if writer.shared:
        items = [(f'"{k}": ', _float(v, k)) for k, v in writer.shared.items()]
        lines += _lines(Group("{", items, "}"), 1, "bn = ", "")
    lines += _lines(call, 1, "return ", "")
    return "\n".join(lines)


# --- values -> layout nodes ----------------------------------------------------------------------------------


@dataclass
class Group:
    """A bracketed list of items, laid out on one line when it fits, else one item per line (ruff style)."""

    open: str
    items: list[tuple[str, Node]]
    close: str


Node = str | Group


def _flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    inner = ", ".join(prefix + _flat(item) for prefix, item in node.items)
    if node.open == "(" and len(node.items) == 1:
        inner += ","
    return node.open + inner + node.close


def _lines(node: Node, level: int, prefix: str, suffix: str) -> list[str]:
    indent = INDENT * level
    flat = indent + prefix + _flat(node) + suffix
    if isinstance(node, str) or len(flat) <= LINE_LENGTH or not node.items:
        return [flat]
    out = [indent + prefix + node.open]
    for item_prefix, item in node.items:
        out += _lines(item, level + 1, item_prefix, ",")
    out.append(indent + node.close + suffix)
    return out


def _int(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_INT <= value <= MAX_INT:
        raise ExportError(where, f"expected an integer in range, got {type(value).__name__}")
    return repr(value)


def _float(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExportError(where, f"expected a finite number, got {type(value).__name__}")
    if isinstance(value, int):
        return _int(value, where)
    return repr(float(value)).replace("e+", "e")


@functools.cache
def _signature(fn: Any) -> tuple[inspect.Signature, dict[str, Any]]:
    return inspect.signature(fn), typing.get_type_hints(fn.__init__)


class _Writer:
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
            if not _WORD.fullmatch(value.name) or (
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
        options = typing.get_args(hint) if _is_union(hint) else (hint,)
        return any(o is Any or (isinstance(o, type) and issubclass(fn, o)) for o in options)

    def _plain(self, value: Any, hint: Any, where: str) -> Node:
        if isinstance(value, tuple | list | dict):
            if not _container_ok(value, hint):
                raise ExportError(where, f"expected {hint}, got {type(value).__name__} of {len(value)}")
            if isinstance(value, dict):
                inner = _member_hint(hint, dict, 1)
                items = [(f'"{k}": ', self.node(v, inner, f"{where}.{k}")) for k, v in value.items()]
                return Group("{", items, "}")
            container = type(value)
            items = [
                ("", self.node(v, _member_hint(hint, container, i), f"{where}[{i}]"))
                for i, v in enumerate(value)
            ]
            return Group("(", items, ")") if container is tuple else Group("[", items, "]")
        self._check(value, hint, where)
        if value is None:
            return "None"
        if isinstance(value, bool):
            return repr(value)
        if isinstance(value, int):
            return _int(value, where)
        if isinstance(value, float):
            return _float(value, where)
        return f'"{value}"'

    def _check(self, value: Any, hint: Any, where: str) -> None:
        """Raise ExportError unless ``value`` is plain data of type ``hint`` (numbers, enums, containers)."""
        if not _matches(value, hint):
            shown = type(value).__name__ if not isinstance(value, int | float) else repr(value)
            raise ExportError(where, f"expected {hint}, got {shown[:60]}")


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _member_hint(hint: Any, container: type, index: int) -> Any:
    """The hint of item ``index`` of a container hinted ``hint`` (``Any`` when it is not narrower)."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    for option in options:
        if typing.get_origin(option) is container:
            args = typing.get_args(option)
            if container is tuple:
                return args[0] if len(args) == 2 and args[1] is Ellipsis else args[min(index, len(args) - 1)]
            return args[-1] if args else Any
    return Any


def _container_ok(value: tuple | list | dict, hint: Any) -> bool:
    """``value`` is the container kind ``hint`` allows (``Any`` allows plain tuples only)."""
    if hint is Any:
        return isinstance(value, tuple)
    for option in typing.get_args(hint) if _is_union(hint) else (hint,):
        origin, args = typing.get_origin(option), typing.get_args(option)
        if origin is not type(value):
            continue
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and len(args) != len(value):
            continue
        if origin is dict and not all(isinstance(k, str) and _WORD.fullmatch(k) for k in value):
            continue
        return True
    return False


def _matches(value: Any, hint: Any) -> bool:
    if isinstance(value, Call | Arg):
        return isinstance(value, Arg) and _matches(value.value, hint)
    if hint is Any:
        return _plain_ok(value)
    if _is_union(hint):
        return any(_matches(value, option) for option in typing.get_args(hint))
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str) and bool(_WORD.fullmatch(value))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(args) == len(value) and all(_matches(v, a) for v, a in zip(value, args, strict=True))
    if origin is list:
        return isinstance(value, list) and all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and _WORD.fullmatch(k) and _matches(v, args[1]) for k, v in value.items()
        )
    return False


def _plain_ok(value: Any) -> bool:
    """Plain data under an ``Any`` hint: numbers, enum strings, None and tuples of them."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -MAX_INT <= value <= MAX_INT
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return bool(_WORD.fullmatch(value))
    if isinstance(value, tuple):
        return all(_plain_ok(v) for v in value)
    return False


# --- copied sources ------------------------------------------------------------------------------------------


@functools.cache
def _module_tree(module_name: str) -> tuple[str, dict[str, ast.stmt]]:
    """A module's source and its top-level definitions by name."""
    source = inspect.getsource(sys.modules[module_name])
    defs: dict[str, ast.stmt] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            defs[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    defs[target.id] = node
    return source, defs


class _Sources:
    """The definitions to copy, dependencies first, and the imports they need."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.imports: set[str] = set()
        self._done: set[tuple[str, str]] = set()

    def add(self, obj: Any) -> None:
        self._add(obj.__module__, obj.__name__)

    def _add(self, module_name: str, name: str) -> None:
        key = (module_name, name)
        if key in self._done:
            return
        self._done.add(key)
        source, defs = _module_tree(module_name)
        node = defs.get(name)
        if node is None or getattr(node, "decorator_list", None):
            raise ExportError(name, f"has no plain top-level definition in {module_name}")
        namespace = vars(sys.modules[module_name])
        for ref in _names(node):
            if ref not in namespace or ref == name:
                continue
            value = namespace[ref]
            if id(value) in IMPORTS:
                alias, line = IMPORTS[id(value)]
                if alias != ref:
                    raise ExportError(name, f"refers to {ref!r}, an unexpected alias")
                self.imports.add(line)
            elif _copyable(value):
                self._add(value.__module__, value.__name__)
            elif ref in _module_tree(module_name)[1]:
                self._add(module_name, ref)
            else:
                raise ExportError(name, f"refers to {ref!r} ({type(value).__name__}), which cannot be copied")
        text = ast.get_source_segment(source, node)
        if text is None:
            raise ExportError(name, "has no source")
        self.texts.append(text)


def _copyable(value: Any) -> bool:
    """A module class from searchspace.nn, or a plain function from anywhere in searchspace."""
    if isinstance(value, type):
        return value.__module__.startswith("searchspace.nn.")
    return isinstance(value, types.FunctionType) and value.__module__.startswith("searchspace.")


def _names(node: ast.AST) -> Iterator[str]:
    seen: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in seen:
            seen.add(sub.id)
            yield sub.id
