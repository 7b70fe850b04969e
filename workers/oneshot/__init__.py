"""One-shot architecture search's shared training: a weight-sharing supernet trained by the sandwich rule with
in-place distillation (BigNAS), checkpointed and resumable, and sub-networks judged with inherited weights."""

from __future__ import annotations

from workers.oneshot.board import Trained
from workers.oneshot.checkpoint import CheckpointError, load_supernet
from workers.oneshot.config import ExtremeKinds, OneShotConfig, Sampling, SupernetTraining
from workers.oneshot.judge import calibration_images, inherited_model, judge_subnet, judged_model
from workers.oneshot.remote import SupernetPhase
from workers.oneshot.sandwich import (
    Shard,
    SupernetEpochCallback,
    SupernetResult,
    load_resolutions,
    train_supernet,
)

__all__ = [
    "CheckpointError",
    "ExtremeKinds",
    "OneShotConfig",
    "Sampling",
    "Shard",
    "SupernetEpochCallback",
    "SupernetPhase",
    "SupernetResult",
    "SupernetTraining",
    "Trained",
    "calibration_images",
    "inherited_model",
    "judge_subnet",
    "judged_model",
    "load_resolutions",
    "load_supernet",
    "train_supernet",
]
