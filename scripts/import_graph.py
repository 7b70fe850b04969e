"""Draw the import graph of the project's packages and check its layering.

    .venv/bin/python scripts/import_graph.py            # Mermaid diagram of package -> package imports
    .venv/bin/python scripts/import_graph.py --check    # exit 1 on an upward import or an import cycle

Every import counts, also those inside functions. Layers, bottom up: searchspace <- workers <- scaler <- store
<- jobs <- api; a package may import only packages below it, and no two modules may import each other,
directly or through others.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = ("searchspace", "workers", "scaler", "store", "jobs", "api")
ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Project modules ``path`` imports (``from a.b import c`` counts as a.b.c when that is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in LAYERS}


def module_graph() -> dict[str, set[str]]:
    files = [p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")]
    known = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        me = module_name(path)
        graph[me] = {m for m in imports(path) if m in known and m != me and not me.startswith(m + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a package imports one above it."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if rank[b.split(".")[0]] > rank[a.split(".")[0]])


def mermaid(graph: dict[str, set[str]]) -> str:
    edges: dict[tuple[str, str], int] = defaultdict(int)
    for a, targets in graph.items():
        for b in targets:
            pa, pb = a.split(".")[0], b.split(".")[0]
            if pa != pb:
                edges[(pa, pb)] += 1
    lines = ["graph BT"] + [f"    {a} -->|{n}| {b}" for (a, b), n in sorted(edges.items())]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    graph = module_graph()
    if not args.check:
        print(mermaid(graph))
        return 0
    bad = [f"upward: {a} imports {b}" for a, b in upward(graph)] + [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    print("\n".join(bad) or f"ok: {len(graph)} modules, no upward import, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
