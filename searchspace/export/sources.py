"""The source of the module classes and helpers a network uses, copied from ``searchspace.nn`` with ``inspect``,
dependencies first, and the import lines they need."""

from __future__ import annotations

import ast
import collections
import functools
import inspect
import math
import sys
import types
import typing
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from searchspace.export.base import ExportError

# Names the copied sources may take from outside searchspace, and the import line each needs.
IMPORTS: dict[int, tuple[str, str]] = {
    id(torch): ("torch", "import torch"),
    id(nn): ("nn", "from torch import nn"),
    id(collections.OrderedDict): ("OrderedDict", "from collections import OrderedDict"),
    id(math): ("math", "import math"),
    id(typing.Any): ("Any", "from typing import Any"),
}
IMPORT_ORDER = [
    "import math",
    "from collections import OrderedDict",
    "from typing import Any",
    "",
    "import torch",
    "from torch import nn",
]


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


class Sources:
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
