"""Draw the import graph of the project's packages and check its layering.

    .venv/bin/python scripts/import_graph.py                          # Mermaid: package -> package imports
    .venv/bin/python scripts/import_graph.py --check                  # exit 1 when a rule below is broken
    .venv/bin/python scripts/import_graph.py --write docs/imports.md  # regenerate the graph document

Every import counts, also those inside functions. Layers, bottom up: searchspace <- workers <- scaler <- store
<- jobs <- api; a package may import only packages below it, and no two modules may import each other,
directly or through others. Inside workers/, the sub-packages (workers.data, workers.latency, ...) import one
another one way too (the graph collapsed to sub-packages has no cycle), and code outside a sub-package imports
only the names its ``__init__`` lists in ``__all__``, from the sub-package itself (not from its modules).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

LAYERS = ("searchspace", "workers", "scaler", "store", "jobs", "api")
SUBPACKAGED = "workers"  # the package whose sub-packages are checked as units with a public surface
ROOT = Path(__file__).resolve().parent.parent
DOC = "docs/imports.md"


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


def product_files() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def module_graph() -> dict[str, set[str]]:
    files = product_files()
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


def package_of(module: str) -> str:
    return module.split(".")[0]


def subpackage_of(module: str) -> str | None:
    """``workers.data`` for ``workers.data.scan`` (and for ``workers.data`` itself); None outside a sub-package."""
    parts = module.split(".")
    if parts[0] != SUBPACKAGED or len(parts) < 2 or not (ROOT / parts[0] / parts[1] / "__init__.py").exists():
        return None
    return ".".join(parts[:2])


def subpackage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between workers/'s sub-packages (a module outside every sub-package stands for itself)."""
    out: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph.items():
        if package_of(a) != SUBPACKAGED:
            continue
        unit = subpackage_of(a) or a
        out[unit]
        for b in targets:
            other = subpackage_of(b) or b
            if package_of(b) == SUBPACKAGED and other != unit:
                out[unit].add(other)
    return dict(out)


def public_names(subpackage: str) -> set[str]:
    """The names a sub-package's ``__init__`` lists in ``__all__`` (a literal list or tuple of strings)."""
    init = ROOT.joinpath(*subpackage.split("."), "__init__.py")
    for node in ast.parse(init.read_text(), str(init)).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def private_imports_of(me: str, source: str) -> list[str]:
    """Module ``me``'s imports from a sub-package it is not in of anything but a name in that sub-package's
    ``__all__``, taken from the sub-package itself."""
    home = subpackage_of(me)
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            wanted: list[tuple[str, str | None]] = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            wanted = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module, name in wanted:
            unit = subpackage_of(module)
            if unit is None or unit == home:
                continue
            if module != unit or name is None:
                found.append(f"{me} imports {module}{'' if name is None else ' ' + name} (use {unit}'s __all__)")
            elif name not in public_names(unit):
                found.append(f"{me} imports {unit}.{name}, which is not in {unit}.__all__")
    return found


def private_imports() -> list[str]:
    return sorted({line for path in product_files()
                   for line in private_imports_of(module_name(path), path.read_text())})


def _node(name: str) -> str:
    """A Mermaid node: ids cannot hold dots, so a dotted name becomes the label of an underscored id."""
    ident = name.replace(".", "_")
    return name if ident == name else f"{ident}[{name}]"


def mermaid(graph: dict[str, set[str]], unit: Callable[[str], str] = package_of) -> str:
    """A Mermaid diagram of the imports between units (packages by default), labelled with module-import counts."""
    edges: dict[tuple[str, str], int] = defaultdict(int)
    for a, targets in graph.items():
        for b in targets:
            ua, ub = unit(a), unit(b)
            if ua != ub:
                edges[(ua, ub)] += 1
    lines = ["graph BT"] + [f"    {_node(a)} -->|{n}| {_node(b)}" for (a, b), n in sorted(edges.items())]
    return "\n".join(lines)


def problems(graph: dict[str, set[str]]) -> list[str]:
    return ([f"upward: {a} imports {b}" for a, b in upward(graph)]
            + [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
            + [f"sub-package cycle: {' <-> '.join(c)}" for c in cycles(subpackage_graph(graph))]
            + [f"private import: {line}" for line in private_imports()])


def document(graph: dict[str, set[str]]) -> str:
    """docs/imports.md: both graphs, as ``--write`` generates it."""
    inside = {a: {b for b in targets if package_of(b) == SUBPACKAGED}
              for a, targets in graph.items() if package_of(a) == SUBPACKAGED}
    edges = sum(len(targets) for targets in graph.values())
    return "\n".join([
        "# Import graph",
        "",
        "Generated by `.venv/bin/python scripts/import_graph.py --write docs/imports.md`; do not edit by hand",
        "(`tests/test_layers.py` fails when this file is out of date). `--check`, also run by the tests, fails on an",
        "upward import, a cycle between any two modules, a cycle between workers/'s sub-packages, or an import from",
        "outside a sub-package of a name its `__all__` does not list.",
        "",
        f"{len(graph)} modules, {edges} module imports inside the project.",
        "",
        "## Packages",
        "",
        "Edge labels: how many module imports; layers, bottom up: " + " <- ".join(LAYERS) + ".",
        "",
        "```mermaid",
        mermaid(graph),
        "```",
        "",
        f"## {SUBPACKAGED}/ sub-packages",
        "",
        "Imports inside workers/ between its sub-packages (edge labels: how many module imports); a module outside",
        "every sub-package stands for itself.",
        "",
        "```mermaid",
        mermaid(inside, lambda m: subpackage_of(m) or m),
        "```",
        "",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when a layering rule is broken")
    parser.add_argument("--write", metavar="PATH", help=f"write the graph document ({DOC}) to PATH")
    args = parser.parse_args()
    graph = module_graph()
    if args.write:
        Path(args.write).write_text(document(graph))
    if not args.check:
        if not args.write:
            print(mermaid(graph))
        return 0
    bad = problems(graph)
    print("\n".join(bad) or f"ok: {len(graph)} modules, no upward import, no cycle between modules or "
                            f"{SUBPACKAGED}/ sub-packages, no import past a sub-package's __all__")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
