"""Training checkpoints written atomically, and the moving average of the weights (EMA) they carry.

A checkpoint is one ``torch.save`` file read back with ``weights_only=True`` (tensors, numbers, strings, lists
and dicts only: no pickled code). It is written to a temporary file in the same directory, flushed to disk and
renamed over the previous one, so a run killed at any moment leaves either the previous epoch's checkpoint or
the new one, never a torn file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn


class CheckpointMismatch(ValueError):
    """A checkpoint belongs to another run (other spec, data or recipe): resuming it would mix two runs."""


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename, fsync of the directory)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_checkpoint(path: str | os.PathLike[str], fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (None when there is none); CheckpointMismatch when it was written by a run
    with another ``fingerprint``."""
    import torch

    if not Path(path).exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fingerprint:
        raise CheckpointMismatch(f"{path} was written by another run (other spec, data or recipe); "
                                 "delete it or write this run's checkpoint elsewhere")
    return state


def rng_state() -> dict[str, Any]:
    """Torch's global random state (CPU and every CUDA device)."""
    import torch

    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def averaged(model: nn.Module, decay: float) -> nn.Module:
    """torch's AveragedModel holding an exponential moving average of ``model``'s parameters, updated per step
    with ``update_parameters(model)``; the decay warms up as min(decay, (1 + n) / (10 + n)) after n updates (as
    timm's ModelEma), so that a short run's average is not dominated by the initial weights. Buffers (batch-norm
    statistics) are not averaged: ``sync_buffers`` copies them before a validation."""
    import torch
    from torch.optim.swa_utils import AveragedModel

    def update(average: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        steps = float(n)
        weight = 1.0 - min(decay, (1.0 + steps) / (10.0 + steps))
        torch._foreach_lerp_(average, current, weight)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=False)


def sync_buffers(target: nn.Module, source: nn.Module) -> None:
    """Copy every buffer (batch-norm running statistics) of ``source`` into ``target`` (same architecture)."""
    import torch

    with torch.no_grad():
        for mine, theirs in zip(target.buffers(), source.buffers(), strict=True):
            mine.copy_(theirs)
