"""Render an ArchSpec (or any module plan: a detector) as one standalone PyTorch file.

The file holds the source of exactly the module classes and helpers the network uses (read with ``inspect``
from ``searchspace.nn``, dependencies first), ``INPUT_SIZE`` and a ``build_model`` function that constructs the
network from the same ``Call`` tree the builder instantiates (``searchspace.assembly.network_plan``). Every
value written into ``build_model`` is checked against the constructor's type hints and written as the ``repr``
of a number or of a short lower-case enum string, so nothing from the spec reaches the source in any other way.
"""

from __future__ import annotations

import ast
import re

from torch import nn

from searchspace.export.base import ExportError
from searchspace.export.calls import CallWriter
from searchspace.export.header import classifier_header
from searchspace.export.layout import INDENT, Group, Node, float_literal, int_literal, layout_lines
from searchspace.export.safety import check_source
from searchspace.export.sources import IMPORT_ORDER, Sources
from searchspace.nn.plan import Call
from searchspace.spec import ArchSpec

_HEADER = re.compile(r"[A-Za-z0-9 _.,:;=+*\-()/'\n]*")


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
    writer = CallWriter({k: v for k, v in shared.items() if v != defaults[k]})
    call = writer.node(plan, nn.Module, "network")
    network_module = plan.fn.__module__
    sources = Sources()
    for cls in sorted(writer.classes, key=lambda c: (c.__module__ == network_module, c is plan.fn)):
        sources.add(cls)
    body = _build_model(call, writer, doc)
    imports = [line for line in IMPORT_ORDER if not line or line in sources.imports]
    while imports and not imports[0]:
        imports.pop(0)
    if imports and not imports[-1]:
        imports.pop()
    if not _HEADER.fullmatch(header):
        raise ExportError("header", "holds characters outside the allowed set")
    size = ", ".join(int_literal(v, "input size") for v in input_size)
    top = "\n\n".join([f'"""{header}\n"""', "\n".join(imports), f"INPUT_SIZE = ({size})"])
    text = "\n\n\n".join([top, *sources.texts, body]) + "\n"
    tree = check_source(text)
    if ast.get_docstring(tree, clean=False) != header + "\n":
        raise ExportError("header", "does not survive as the module docstring")
    return text


def _build_model(call: Node, writer: CallWriter, doc: str) -> str:
    params = [f"{arg.name}: int = {int_literal(arg.value, arg.name)}" for arg in writer.args.values()]
    lines = [f"def build_model({', '.join(params)}) -> {writer.root}:", f'{INDENT}"""{doc}"""']
    if writer.shared:
        items = [(f'"{k}": ', float_literal(v, k)) for k, v in writer.shared.items()]
        lines += layout_lines(Group("{", items, "}"), 1, "bn = ", "")
    lines += layout_lines(call, 1, "return ", "")
    return "\n".join(lines)
