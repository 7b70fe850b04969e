"""One-shot architecture search's shared training: a weight-sharing supernet trained by the sandwich rule with
in-place distillation (BigNAS), checkpointed and resumable, and sub-networks judged with inherited weights."""

from __future__ import annotations

from workers.oneshot.checkpoint import CheckpointError, load_supernet
from workers.oneshot.config import ExtremeKinds, OneShotConfig
from workers.oneshot.judge import calibration_images, inherited_model, judge_subnet
from workers.oneshot.sandwich import SupernetEpochCallback, SupernetResult, load_resolutions, train_supernet

__all__ = [
    "CheckpointError",
    "ExtremeKinds",
    "OneShotConfig",
    "SupernetEpochCallback",
    "SupernetResult",
    "calibration_images",
    "inherited_model",
    "judge_subnet",
    "load_resolutions",
    "load_supernet",
    "train_supernet",
]
