"""The docstring of a standalone file: what it builds, its one-line spec, its counts and its provenance."""

from __future__ import annotations

import hashlib
import re
import textwrap
from importlib import metadata

from searchspace.counter import count
from searchspace.export.base import ExportError
from searchspace.export.layout import INDENT, LINE_LENGTH
from searchspace.spec import ArchSpec


def classifier_header(spec: ArchSpec, features: bool) -> str:
    """The docstring of a classifier's (or feature extractor's) standalone file."""
    c = count(spec, features=features)
    title = spec.name or "network"
    what = "feature extractor (strides 8, 16, 32)" if features else "classifier"
    usage = "model = build_model()" if features else f"model = build_model(num_classes={spec.num_classes})"
    lines = [
        f"{title}: standalone PyTorch {what}.",
        "",
        "Architecture (the spec's one-line form, wrapped: join the lines with single spaces):",
        "",
        *wrapped(spec.to_string()),
        "",
        f"Parameters: {c.params:,}",
        f"Multiply-adds: {c.macs:,} at input {spec.in_chans}x{spec.resolution}x{spec.resolution}",
        *provenance(spec.to_json(indent=None)),
        "",
        f"Usage: {usage}; inputs are float tensors of shape (batch, *INPUT_SIZE).",
    ]
    return "\n".join(lines)


def wrapped(line: str) -> list[str]:
    """A one-line spec wrapped for a docstring, indented."""
    return [INDENT + w for w in textwrap.wrap(line, LINE_LENGTH - 4, break_long_words=False, break_on_hyphens=False)]


def provenance(spec_json: str) -> list[str]:
    """The header lines naming the exporter, the package version and the spec's digest."""
    digest = hashlib.sha256(spec_json.encode()).hexdigest()
    try:
        version = metadata.version("nas-scaler")
    except metadata.PackageNotFoundError:
        version = "unknown"
    if not re.fullmatch(r"[0-9.a-z+]*", version):
        raise ExportError("header", "holds characters outside the allowed set")
    return [
        f"Exported by searchspace.export.to_python (nas-scaler {version}) from the validated spec",
        f"(spec JSON SHA-256 {digest[:16]}...{digest[-16:]}).",
        "Needs only PyTorch (Python 3.10 or newer); nothing from the search service.",
    ]
