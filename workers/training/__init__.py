"""Proxy training: the budget, the seeded training loop, and one trial's evaluation (training, then latency and
counted MACs)."""

from __future__ import annotations

from workers.training.budget import DeviceUnavailable, EpochCallback, TrainBudget, TrainDevice, TrainResult
from workers.training.evaluation import Durations, Evaluation, evaluate
from workers.training.loop import (
    accuracy,
    build_seeded,
    calibrate_bn,
    cosine_lrs,
    make_optimizer,
    train_and_evaluate,
    train_device,
)

__all__ = [
    "DeviceUnavailable",
    "Durations",
    "EpochCallback",
    "Evaluation",
    "TrainBudget",
    "TrainDevice",
    "TrainResult",
    "accuracy",
    "build_seeded",
    "calibrate_bn",
    "cosine_lrs",
    "evaluate",
    "make_optimizer",
    "train_and_evaluate",
    "train_device",
]
