"""What a Ray worker runs for one trial, and the median-rule referee it reports epochs to."""

from __future__ import annotations

import os
import statistics
from typing import Any

from searchspace.spec import ArchSpec
from workers.config import SearchConfig


class MedianReferee:
    """Early stopping for multi-objective searches (Optuna's pruners only handle one objective).

    A trial is stopped after epoch ``e`` (past the warm-up) when its validation accuracy is below the median of
    the accuracies that finished trials reached at epoch ``e``, once ``min_trials`` of them reached it. Runs as
    a Ray actor so that parallel workers share the finished curves.
    """

    def __init__(self, warmup_epochs: int, min_trials: int, curves: list[list[float]] | None = None) -> None:
        self.warmup_epochs = warmup_epochs
        self.min_trials = min_trials
        self.curves = list(curves or [])

    def should_continue(self, epoch: int, accuracy: float) -> bool:
        if epoch < self.warmup_epochs:
            return True
        reached = [curve[epoch] for curve in self.curves if len(curve) > epoch]
        return len(reached) < self.min_trials or accuracy >= statistics.median(reached)

    def add_curve(self, curve: list[float]) -> None:
        self.curves.append(list(curve))


def evaluate_trial(spec: ArchSpec, config: SearchConfig, referee: Any = None) -> dict[str, Any]:
    """Train and measure ``spec``; the JSON-ready measurements the driver records. Runs in a Ray worker."""
    import ray

    from workers.evaluation import evaluate

    def on_epoch(epoch: int, accuracy: float) -> bool:
        return referee is None or ray.get(referee.should_continue.remote(epoch, accuracy))

    result = evaluate(spec, config.dataset, config.budget, seed=config.seed, latency=config.latency,
                      threads=config.latency.threads, on_epoch=on_epoch)
    return {**result.measurements(), "worker_pid": os.getpid()}
