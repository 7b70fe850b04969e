"""ONNX export with the TorchScript-based exporter (opset 17 or newer, dynamic batch axis)."""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from searchspace.export.base import ExportError
from searchspace.export.blame import blame
from searchspace.spec import ArchSpec

MIN_OPSET = 17
MAX_OPSET = 20
INPUT_NAME = "images"


def output_names(features: bool) -> list[str]:
    return ["stride8", "stride16", "stride32"] if features else ["logits"]


def export_onnx(model: nn.Module, spec: ArchSpec, features: bool = False, opset: int = MIN_OPSET) -> bytes:
    """``model`` (built from ``spec``) serialised; ExportError names the first block (or part) that fails."""
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError("opset", f"must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r:.20}")
    example = torch.zeros(1, spec.in_chans, spec.resolution, spec.resolution)
    names = output_names(features)
    try:
        return _export(model, example, opset, names)
    except (RuntimeError, TypeError, ValueError, NotImplementedError, AttributeError) as err:
        raise blame(model, spec, "ONNX", lambda part, x: _export(part, x, opset, None), err) from err


def export_module(model: nn.Module, example: torch.Tensor, opset: int = MIN_OPSET) -> bytes:
    """Any module (a part of a network, such as one block) traced on ``example``, fixed shapes."""
    return _export(model, example, opset, None)


def _export(model: nn.Module, example: torch.Tensor, opset: int, names: list[str] | None) -> bytes:
    buffer = io.BytesIO()
    axes = {name: {0: "batch"} for name in [INPUT_NAME, *(names or [])]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript-based exporter is deprecated
        torch.onnx.export(
            model,
            (example,),
            buffer,
            opset_version=opset,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_axes=axes if names else None,
        )
    return buffer.getvalue()


__all__ = ["ExportError", "export_module", "export_onnx", "output_names"]
