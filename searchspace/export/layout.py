"""Laying out the generated source: bracketed groups on one line when they fit, else one item per line (ruff
style), and the only number literals written (checked integers and finite floats)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from searchspace.export.base import ExportError

LINE_LENGTH = 110
INDENT = "    "
MAX_INT = 2**31 - 1


@dataclass
class Group:
    """A bracketed list of items, laid out on one line when it fits, else one item per line (ruff style)."""

    open: str
    items: list[tuple[str, Node]]
    close: str


Node = str | Group


def flat_text(node: Node) -> str:
    """``node`` on one line (a one-item tuple keeps its trailing comma)."""
    if isinstance(node, str):
        return node
    inner = ", ".join(prefix + flat_text(item) for prefix, item in node.items)
    if node.open == "(" and len(node.items) == 1:
        inner += ","
    return node.open + inner + node.close


def layout_lines(node: Node, level: int, prefix: str, suffix: str) -> list[str]:
    """``prefix + node + suffix`` at indent ``level``: one line when it fits, else one item per line."""
    indent = INDENT * level
    flat = indent + prefix + flat_text(node) + suffix
    if isinstance(node, str) or len(flat) <= LINE_LENGTH or not node.items:
        return [flat]
    out = [indent + prefix + node.open]
    for item_prefix, item in node.items:
        out += layout_lines(item, level + 1, item_prefix, ",")
    out.append(indent + node.close + suffix)
    return out


def int_literal(value: Any, where: str) -> str:
    """``value`` as an integer literal; ExportError naming ``where`` unless it is an int in range."""
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_INT <= value <= MAX_INT:
        raise ExportError(where, f"expected an integer in range, got {type(value).__name__}")
    return repr(value)


def float_literal(value: Any, where: str) -> str:
    """``value`` as a number literal; ExportError naming ``where`` unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExportError(where, f"expected a finite number, got {type(value).__name__}")
    if isinstance(value, int):
        return int_literal(value, where)
    return repr(float(value)).replace("e+", "e")
