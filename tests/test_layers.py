"""The packages' layering: searchspace <- workers <- scaler <- store <- jobs <- api, no import cycle between modules
or between workers/'s sub-packages, imports from a sub-package only of its ``__all__``, and docs/imports.md current."""

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


def test_workers_sub_packages_import_one_another_one_way() -> None:
    assert graph_tool.cycles(graph_tool.subpackage_graph(graph_tool.module_graph())) == []


def test_the_checker_sees_a_cycle_between_sub_packages_that_no_module_cycle_shows() -> None:
    graph = {"workers.data.a": {"workers.search.b"}, "workers.search.c": {"workers.data.d"},
             "workers.search.b": set(), "workers.data.d": set()}
    assert graph_tool.cycles(graph) == []
    assert graph_tool.cycles(graph_tool.subpackage_graph(graph)) == [["workers.data", "workers.search"]]


def test_code_outside_a_sub_package_imports_only_its_public_names() -> None:
    assert graph_tool.private_imports() == []


def test_the_checker_sees_imports_past_a_sub_packages_all() -> None:
    source = """
from workers.runtime import Task, cluster
from workers.runtime.engine import Stop
import workers.search.driver
from workers.runtime.cluster import ray_owner
"""
    assert graph_tool.private_imports_of("scaler.x", source) == [
        "scaler.x imports workers.runtime.cluster, which is not in workers.runtime.__all__",
        "scaler.x imports workers.runtime.engine Stop (use workers.runtime's __all__)",
        "scaler.x imports workers.search.driver (use workers.search's __all__)",
        "scaler.x imports workers.runtime.cluster ray_owner (use workers.runtime's __all__)",
    ]
    inside = graph_tool.private_imports_of("workers.runtime.engine", source)  # its own modules are its own
    assert inside == ["workers.runtime.engine imports workers.search.driver (use workers.search's __all__)"]


def test_docs_imports_md_is_generated_and_current() -> None:
    current = (graph_tool.ROOT / graph_tool.DOC).read_text()
    assert current == graph_tool.document(graph_tool.module_graph()), (
        "docs/imports.md is out of date: run .venv/bin/python scripts/import_graph.py --write docs/imports.md")
