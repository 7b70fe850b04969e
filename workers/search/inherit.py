"""Finalizing a one-shot search from its supernet: a trial's network starts from the weights it inherits from the
search's trained supernet and is fine-tuned with the full-fidelity recipe (Once-for-All), instead of being
trained from scratch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from searchspace.spec import ArchSpec
from workers.data import DatasetConfig
from workers.training import TrainRecipe, train_network

__all__ = ["INHERITED", "inherited_weights", "train_inherited"]

INHERITED = "inherited"  # the figure saying a network started from the supernet's weights


def inherited_weights(supernet: str, spec_key: str) -> dict[str, Any]:
    """The state dict of ``spec_key``'s network holding the weights it inherits from the supernet checkpoint at
    ``supernet`` (``workers.oneshot.load_supernet``)."""
    from workers.oneshot import load_supernet

    _, net = load_supernet(Path(supernet))
    return net.extract(ArchSpec.from_string(spec_key))[1]


def train_inherited(spec_key: str, data: DatasetConfig, recipe: TrainRecipe, directory: str, threads: int,
                    supernet: str) -> dict[str, Any]:
    """``train_network`` starting from the weights ``spec_key`` inherits from ``supernet``; its figures, with
    ``inherited`` true. Runs in a Ray worker."""
    init = inherited_weights(supernet, spec_key)
    return {**train_network(spec_key, data, recipe, directory, threads, init=init), INHERITED: True}
