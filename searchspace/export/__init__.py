"""Export an ArchSpec as a standalone PyTorch file, ONNX or TorchScript.

Every entry point first rebuilds the spec from plain data (``validated``), so hostile input is refused with
the same field-level SpecError as the builder, before anything is rendered or built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from searchspace.export.base import ExportError, validated
from searchspace.spec import ArchSpec

SpecLike = ArchSpec | Mapping[str, Any] | str | bytes

__all__ = ["ExportError", "to_onnx", "to_python", "to_python_trained", "to_torchscript", "validated"]


def to_python(spec: SpecLike, features: bool = False) -> str:
    """One self-contained ``.py`` file (imports only torch and the standard library) that builds the network.

    ``features=True`` exports the multi-scale feature extractor (``build(spec, features=True)``) instead.
    """
    from searchspace.assembly import network_plan
    from searchspace.export.python import render_python

    arch = validated(spec)
    return render_python(arch, network_plan(arch, features=features), features=features)


def to_python_trained(spec: SpecLike, mean: Sequence[float], std: Sequence[float]) -> str:
    """``to_python(spec)`` plus ``load_model(path)``, which loads trained weights saved as a state_dict ``.pt``
    with torch alone, and the input statistics ``INPUT_MEAN``/``INPUT_STD`` the weights were trained with."""
    from searchspace.export.weights import with_loader

    return with_loader(to_python(spec), mean, std)


def to_onnx(
    spec: SpecLike, features: bool = False, opset: int = 17, state_dict: Mapping[str, Any] | None = None
) -> bytes:
    """The network as an ONNX model (batch axis dynamic); ExportError names the block that cannot export.

    ``state_dict`` (for example trained weights) is loaded strictly; without it the weights are freshly
    initialised.
    """
    from searchspace.export.onnx import export_onnx

    arch = validated(spec)
    return export_onnx(_model(arch, features, state_dict), arch, features, opset)


def to_torchscript(
    spec: SpecLike, features: bool = False, state_dict: Mapping[str, Any] | None = None
) -> bytes:
    """The network as a saved TorchScript module (``torch.jit.load`` reads it); ExportError names the block."""
    from searchspace.export.torchscript import export_torchscript

    arch = validated(spec)
    return export_torchscript(_model(arch, features, state_dict), arch)


def _model(spec: ArchSpec, features: bool, state_dict: Mapping[str, Any] | None) -> Any:
    from searchspace.builder import build

    model = build(spec, features=features)
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()
