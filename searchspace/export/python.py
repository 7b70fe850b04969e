"""Render an ArchSpec as one standalone PyTorch file.

The file holds the source of exactly the module classes and helpers the network uses (read with ``inspect``
from ``searchspace.nn``, dependencies first), ``INPUT_SIZE`` and a ``build_model`` function that constructs the
network from the same ``Call`` tree the builder instantiates (``searchspace.assembly.network_plan``). Every
value written into ``build_model`` is checked against the constructor's type hints and written as the ``repr``
of a number or of a short lower-case enum string, so nothing from the spec reaches the source in any other way.
"""

from __future__ import annotations

import ast
import hashlib
import re
import textwrap
from importlib import metadata

from torch import nn

from searchspace.counter import count
from searchspace.export.base import ExportError
from searchspace.export.calls import CallWriter
from searchspace.export.layout import (
    INDENT,
    LINE_LENGTH,
    Group,
    Node,
    float_literal,
    int_literal,
    layout_lines,
)
from searchspace.export.safety import check_source
from searchspace.export.sources import IMPORT_ORDER, Sources
from searchspace.nn.plan import Call
from searchspace.spec import ArchSpec

_HEADER = re.compile(r"[A-Za-z0-9 _.,:;=+*\-()/'\n]*")


def render_python(spec: ArchSpec, plan: Call, features: bool = False) -> str:
    """The source of the standalone file for a validated ``spec`` and its network plan."""
    defaults = {"bn_eps": 1e-5, "bn_momentum": 0.1}
    shared = {
        k: v for k, v in (("bn_eps", spec.bn_eps), ("bn_momentum", spec.bn_momentum)) if v != defaults[k]
    }
    writer = CallWriter(shared)
    call = writer.node(plan, nn.Module, "network")
    network_module = plan.fn.__module__
    sources = Sources()
    for cls in sorted(writer.classes, key=lambda c: (c.__module__ == network_module, c is plan.fn)):
        sources.add(cls)
    body = _build_model(spec, call, writer, features)
    imports = [line for line in IMPORT_ORDER if not line or line in sources.imports]
    while imports and not imports[0]:
        imports.pop(0)
    if imports and not imports[-1]:
        imports.pop()
    header = _header(spec, features)
    size = ", ".join(int_literal(v, "input size") for v in (spec.in_chans, spec.resolution, spec.resolution))
    top = "\n\n".join([f'"""{header}\n"""', "\n".join(imports), f"INPUT_SIZE = ({size})"])
    text = "\n\n\n".join([top, *sources.texts, body]) + "\n"
    tree = check_source(text)
    if ast.get_docstring(tree, clean=False) != header + "\n":
        raise ExportError("header", "does not survive as the module docstring")
    return text


def _header(spec: ArchSpec, features: bool) -> str:
    c = count(spec, features=features)
    title = spec.name or "network"
    what = "feature extractor (strides 8, 16, 32)" if features else "classifier"
    line = spec.to_string()
    wrapped = textwrap.wrap(line, LINE_LENGTH - 4, break_long_words=False, break_on_hyphens=False)
    digest = hashlib.sha256(spec.to_json(indent=None).encode()).hexdigest()
    try:
        version = metadata.version("nas-scaler")
    except metadata.PackageNotFoundError:
        version = "unknown"
    usage = "model = build_model()" if features else f"model = build_model(num_classes={spec.num_classes})"
    text = "\n".join(
        [
            f"{title}: standalone PyTorch {what}.",
            "",
            "Architecture (the spec's one-line form, wrapped: join the lines with single spaces):",
            "",
            *(INDENT + w for w in wrapped),
            "",
            f"Parameters: {c.params:,}",
            f"Multiply-adds: {c.macs:,} at input {spec.in_chans}x{spec.resolution}x{spec.resolution}",
            f"Exported by searchspace.export.to_python (nas-scaler {version}) from the validated spec",
            f"(spec JSON SHA-256 {digest[:16]}...{digest[-16:]}).",
            "Needs only PyTorch (Python 3.10 or newer); nothing from the search service.",
            "",
            f"Usage: {usage}; inputs are float tensors of shape (batch, *INPUT_SIZE).",
        ]
    )
    if not _HEADER.fullmatch(text) or not re.fullmatch(r"[0-9.a-z+]*", version):
        raise ExportError("header", "holds characters outside the allowed set")
    return text


def _build_model(spec: ArchSpec, call: Node, writer: CallWriter, features: bool) -> str:
    params = [f"{arg.name}: int = {int_literal(arg.value, arg.name)}" for arg in writer.args.values()]
    lines = [f"def build_model({', '.join(params)}) -> {writer.root}:"]
    if features:
        lines.append(f'{INDENT}"""The network, returning the feature maps at strides 8, 16 and 32."""')
    else:
        lines.append(
            f'{INDENT}"""The network with ``num_classes`` outputs (the spec has {spec.num_classes})."""'
        )
    if writer.shared:
        items = [(f'"{k}": ', float_literal(v, k)) for k, v in writer.shared.items()]
        lines += layout_lines(Group("{", items, "}"), 1, "bn = ", "")
    lines += layout_lines(call, 1, "return ", "")
    return "\n".join(lines)
