"""TorchScript export: ``torch.jit.script`` of the built network, saved to bytes (``torch.jit.load`` reads it)."""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from searchspace.export.base import ExportError
from searchspace.export.blame import blame
from searchspace.spec import ArchSpec


def export_torchscript(model: nn.Module, spec: ArchSpec) -> bytes:
    """``model`` (built from ``spec``) scripted and saved; ExportError names the first part that fails."""
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # TorchScript is deprecated in favour of torch.export
        try:
            scripted = torch.jit.script(model)
        except (RuntimeError, TypeError, ValueError, NotImplementedError, AttributeError) as err:
            raise blame(model, spec, "TorchScript", lambda part, _x: torch.jit.script(part), err) from err
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
    return buffer.getvalue()


__all__ = ["ExportError", "export_torchscript"]
