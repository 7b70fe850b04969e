"""Supernet checkpoints: the weights, the optimizer, the step reached and the history so far, with the run's
configuration, written atomically and read back only by a run of the same configuration.

One file (``torch.save``; read with ``weights_only=True``, so a checkpoint can hold tensors and plain data but
no code). The configuration is kept as its JSON text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.oneshot.config import OneShotConfig

if TYPE_CHECKING:
    from searchspace.supernet import Supernet

FORMAT = 1
# Fields a resumed run may change: they bound or place the run (of its budget, and of its training).
RESUMABLE_CHANGES = ("max_seconds", "device", "gpus_per_trial")
RESUMABLE_TRAINING = ("ddp_workers",)


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that another configuration wrote (the message names the field)."""


@dataclass
class Progress:
    """Where training stands: the next step to run and the per-epoch history (``epoch_*`` lists hold finished
    epochs; ``running`` the sums of the epoch in progress)."""

    step: int = 0
    train_seconds: float = 0.0
    cpu_seconds: float = 0.0
    epoch_losses: list[float] = field(default_factory=list)
    epoch_distill_losses: list[float] = field(default_factory=list)
    largest_accuracies: list[float] = field(default_factory=list)
    smallest_accuracies: list[float] = field(default_factory=list)
    random_accuracies: list[float] = field(default_factory=list)
    running: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # largest loss, others' loss, steps

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _comparable(config: OneShotConfig) -> dict[str, Any]:
    data = config.to_dict()
    training = {k: v for k, v in data["training"].items() if k not in RESUMABLE_TRAINING}
    training["budget"] = {k: v for k, v in training["budget"].items() if k not in RESUMABLE_CHANGES}
    return {**data, "training": training}


def save_checkpoint(path: Path, config: OneShotConfig, net: Supernet, optimizer: Any, progress: Progress) -> None:
    """Write the checkpoint to ``path`` atomically (a temporary file beside it, then a rename)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"format": FORMAT, "config": config.to_json(), "model": net.state_dict(),
                "optimizer": optimizer.state_dict(), "progress": progress.to_dict()}, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's contents (tensors on the CPU); CheckpointError when it is not a supernet checkpoint."""
    import pickle

    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise CheckpointError(f"{path}: not a readable supernet checkpoint ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a supernet checkpoint of format {FORMAT}")
    return data


def checkpoint_config(data: dict[str, Any]) -> OneShotConfig:
    return OneShotConfig.from_dict(json.loads(data["config"]))


def check_same_run(data: dict[str, Any], config: OneShotConfig, path: Path) -> None:
    """CheckpointError naming the first field where the checkpoint's configuration differs from ``config``."""
    mine, theirs = _comparable(config), _comparable(checkpoint_config(data))
    for name in mine:
        if mine[name] != theirs.get(name):
            inner = mine[name], theirs.get(name)
            while isinstance(inner[0], dict) and isinstance(inner[1], dict):
                key = next(k for k in {*inner[0], *inner[1]} if inner[0].get(k) != inner[1].get(k))
                name, inner = f"{name}.{key}", (inner[0].get(key), inner[1].get(key))
            raise CheckpointError(f"{path} was written by a run with another {name}; resume with the same "
                                  "configuration or start from a new checkpoint path")


def restore(data: dict[str, Any], net: Supernet, optimizer: Any) -> Progress:
    """Load the checkpoint's weights and optimizer state into ``net`` and ``optimizer``; its progress."""
    net.load_state_dict(data["model"])
    optimizer.load_state_dict(data["optimizer"])
    return Progress(**data["progress"])


def load_supernet(path: Path) -> tuple[OneShotConfig, Supernet]:
    """The configuration and the trained supernet of a checkpoint (on the CPU, in eval mode)."""
    from searchspace.supernet import Supernet

    data = read_checkpoint(path)
    config = checkpoint_config(data)
    net = Supernet(config.space)
    net.load_state_dict(data["model"])
    return config, net.eval()
