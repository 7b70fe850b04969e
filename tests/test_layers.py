"""The packages' layering: searchspace <- workers <- scaler <- store <- jobs <- api, and no import cycle."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("import_graph", Path(__file__).parents[1] / "scripts" / "import_graph.py")
graph_tool = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(graph_tool)


def test_no_package_imports_one_above_it() -> None:
    assert graph_tool.upward(graph_tool.module_graph()) == []


def test_no_two_modules_import_each_other_even_through_others() -> None:
    assert graph_tool.cycles(graph_tool.module_graph()) == []


def test_the_checker_sees_upward_imports_and_cycles() -> None:
    graph = {"workers.a": {"api.b"}, "api.b": {"workers.a"}, "searchspace.c": set()}
    assert graph_tool.upward(graph) == [("workers.a", "api.b")]
    assert graph_tool.cycles(graph) == [["api.b", "workers.a"]]
