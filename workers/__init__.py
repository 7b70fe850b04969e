"""Workers: datasets, proxy training, latency measurement and the evaluation a search worker runs."""

from __future__ import annotations

from workers.data import DatasetConfig, DatasetError, DatasetInfo, SplitData, stratified_split
from workers.evaluation import Durations, Evaluation, LatencyConfig, evaluate
from workers.latency import DeviceInfo, LatencyResult, measure_latency
from workers.training import TrainBudget, TrainResult, train_and_evaluate

__all__ = [
    "DatasetConfig",
    "DatasetError",
    "DatasetInfo",
    "DeviceInfo",
    "Durations",
    "Evaluation",
    "LatencyConfig",
    "LatencyResult",
    "SplitData",
    "TrainBudget",
    "TrainResult",
    "evaluate",
    "measure_latency",
    "stratified_split",
    "train_and_evaluate",
]
