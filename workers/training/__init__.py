"""Proxy training: the budget, the seeded training loop, and one trial's evaluation (training, then latency and
counted MACs)."""

from __future__ import annotations

from workers.training.budget import (
    DeviceUnavailable,
    EpochCallback,
    Stopped,
    TrainBudget,
    TrainDevice,
    TrainResult,
)
from workers.training.evaluation import Durations, Evaluation, evaluate
from workers.training.loop import build_seeded, train_and_evaluate
from workers.training.measurements import Measurements

__all__ = [
    "DeviceUnavailable",
    "Durations",
    "EpochCallback",
    "Evaluation",
    "Measurements",
    "Stopped",
    "TrainBudget",
    "TrainDevice",
    "TrainResult",
    "build_seeded",
    "evaluate",
    "train_and_evaluate",
]
