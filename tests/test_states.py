"""Job and trial states (and why training stopped) are enums end to end: no product module spells one as a
string literal outside the enum that defines it (strings exist only where the enums are (de)serialised, which needs no literal: ``.value``,
``Enum(value)``) and the migrations (a schema's history)."""

from __future__ import annotations

import ast
from pathlib import Path

from store.models import JobState
from workers.runtime import TrialState
from workers.training import Stopped

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("searchspace", "workers", "scaler", "store", "jobs", "api")
EXCLUDED = (ROOT / "store" / "migrations",)
WORDS = {v for s in (*JobState, *TrialState) for v in (s.value, s.value.lower(), s.value.upper())} | {
    "complete", "completed", "pruned", "fail", "failed", "cancelled", "canceled", "queued", "running"} | {
    s.value for s in Stopped}


def _enum_members(tree: ast.AST) -> set[int]:
    """ids of the constants that define members of an enum class (``NAME = "value"`` in its body)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any("Enum" in ast.unparse(base) for base in node.bases):
            out.update(id(stmt.value) for stmt in node.body if isinstance(stmt, ast.Assign))
    return out


def state_literals(path: Path) -> list[str]:
    """``path:line: 'literal'`` for every string constant in ``path`` that spells a job or trial state."""
    tree = ast.parse(path.read_text(), str(path))
    members = _enum_members(tree)
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS
            and id(node) not in members]


def product_modules() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
            if not any(p.is_relative_to(excluded) for excluded in EXCLUDED)]


def test_no_state_string_literal_outside_the_enums() -> None:
    found = [hit for path in product_modules() for hit in state_literals(path)]
    assert found == []


def test_the_check_finds_a_state_literal() -> None:
    module = ROOT / "store" / "_probe_states.py"  # under ROOT for relative_to; removed at once
    module.write_text('import enum\n\nclass S(enum.Enum):\n    A = "queued"\n\nDONE = "COMPLETE"\nx = {"failed": 1}\n')
    try:
        hits = state_literals(module)
    finally:
        module.unlink()
    assert [h.split(": ", 1)[1] for h in hits] == ["'COMPLETE'", "'failed'"]
