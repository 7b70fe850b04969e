"""Find which part of a network a failed export is about, so that the error can name the block and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from searchspace.export.base import ExportError
from searchspace.spec import ArchSpec

ExportFn = Callable[[nn.Module, torch.Tensor], Any]


def parts(model: nn.Module, spec: ArchSpec) -> list[tuple[str, nn.Module]]:
    """(name, module) for the stem, every block as ``stages[i][j] (kind)``, and the head, in order."""
    named = [("stem", model.stem)]
    for i, stage in enumerate(model.stages):
        kind = spec.stages[i].block.kind
        named += [(f"stages[{i}][{j}] ({kind})", block) for j, block in enumerate(stage)]
    if hasattr(model, "head"):
        named.append(("head", model.head))
    return named


def blame(model: nn.Module, spec: ArchSpec, fmt: str, export: ExportFn, err: Exception) -> ExportError:
    """An ExportError naming the first part that ``export(part, example_input)`` fails on, with the reason."""
    named = parts(model, spec)
    inputs: dict[str, torch.Tensor] = {}
    hooks = [
        module.register_forward_pre_hook(lambda _m, args, name=name: inputs.setdefault(name, args[0]))
        for name, module in named
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, spec.in_chans, spec.resolution, spec.resolution))
    finally:
        for hook in hooks:
            hook.remove()
    for name, module in named:
        try:
            export(module, inputs[name])
        except Exception as part_err:  # noqa: BLE001 - any failure of this part is the answer we look for
            # TorchScript refuses to compile a class twice; the first attempt's error then holds the reason.
            reason = err if "Can't redefine method" in str(part_err) else part_err
            return ExportError(name, f"cannot be exported to {fmt}: {_reason(reason)}")
    return ExportError("network", f"cannot be exported to {fmt}: {_reason(err)}")


def _reason(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0][:300] if lines else 'no message'}"
