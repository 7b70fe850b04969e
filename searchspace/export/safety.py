"""The last check before generated source leaves the exporter: an allow-list over its syntax tree.

The source is parsed (never executed) and every node must be of an allowed kind, every name either defined in
the file or one of a few harmless builtins, every attribute free of dunders (but ``__init__``), every import
one of the few the exporter writes. Anything else raises ExportError.
"""

from __future__ import annotations

import ast

from searchspace.export.base import ExportError

NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Module,
        ast.Expr,
        ast.Import,
        ast.ImportFrom,
        ast.alias,
        ast.ClassDef,
        ast.FunctionDef,
        ast.arguments,
        ast.arg,
        ast.keyword,
        ast.Return,
        ast.Assign,
        ast.AnnAssign,
        ast.AugAssign,
        ast.If,
        ast.For,
        ast.Pass,
        ast.Call,
        ast.Attribute,
        ast.Name,
        ast.Constant,
        ast.Subscript,
        ast.Slice,
        ast.Tuple,
        ast.List,
        ast.Dict,
        ast.BinOp,
        ast.UnaryOp,
        ast.BoolOp,
        ast.Compare,
        ast.IfExp,
        ast.GeneratorExp,
        ast.ListComp,
        ast.comprehension,
        ast.Starred,
        ast.Load,
        ast.Store,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.Div,
        ast.FloorDiv,
        ast.Mod,
        ast.BitOr,
        ast.USub,
        ast.Not,
        ast.And,
        ast.Or,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.In,
        ast.NotIn,
        ast.Is,
        ast.IsNot,
    }
)
BUILTINS = frozenset(
    {
        "super",
        "isinstance",
        "int",
        "float",
        "bool",
        "str",
        "tuple",
        "list",
        "dict",
        "type",
        "len",
        "range",
        "enumerate",
        "zip",
        "min",
        "max",
        "sum",
        "abs",
        "round",
        "any",
        "all",
        "bytes",
    }
)
IMPORTS = frozenset(
    {
        ("json", None),
        ("math", None),
        ("torch", None),
        ("torch", "nn"),
        ("collections", "OrderedDict"),
        ("typing", "Any"),
    }
)
ATTRIBUTES = frozenset({"__init__"})


def check_source(source: str) -> ast.Module:
    """Parse ``source`` and check it against the allow-lists; the tree, or ExportError naming the line."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ExportError("source", f"does not parse: {err.msg} (line {err.lineno})") from None
    defined = set(BUILTINS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.alias):
            defined.add(node.asname or node.name)
    for node in ast.walk(tree):
        _check_node(node, defined)
    return tree


def _check_node(node: ast.AST, defined: set[str]) -> None:
    line = getattr(node, "lineno", 0)
    if type(node) not in NODES:
        raise ExportError(f"source line {line}", f"{type(node).__name__} is not allowed")
    if isinstance(node, ast.Name | ast.FunctionDef | ast.ClassDef | ast.arg):
        name = node.id if isinstance(node, ast.Name) else node.arg if isinstance(node, ast.arg) else node.name
        if name.startswith("__") and name != "__init__" or name not in defined:
            raise ExportError(f"source line {line}", f"name {name[:40]!r} is not allowed")
    if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.decorator_list:
        raise ExportError(f"source line {line}", "decorators are not allowed")
    if isinstance(node, ast.ClassDef) and node.keywords:
        raise ExportError(f"source line {line}", "class keywords are not allowed")
    if isinstance(node, ast.Attribute) and node.attr.startswith("_") and node.attr not in ATTRIBUTES:
        raise ExportError(f"source line {line}", f"attribute {node.attr[:40]!r} is not allowed")
    if isinstance(node, ast.Import):
        for alias in node.names:
            if (alias.name, None) not in IMPORTS or alias.asname:
                raise ExportError(f"source line {line}", f"import {alias.name[:40]!r} is not allowed")
    if isinstance(node, ast.ImportFrom):
        for alias in node.names:
            if node.level or (node.module, alias.name) not in IMPORTS or alias.asname:
                raise ExportError(f"source line {line}", f"import from {node.module!s:.40} is not allowed")
    plain = str | int | float | bool | type(None)
    if isinstance(node, ast.Constant) and not isinstance(node.value, plain) and node.value is not Ellipsis:
        raise ExportError(f"source line {line}", f"constant {type(node.value).__name__} is not allowed")
