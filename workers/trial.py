"""What a Ray worker runs for one trial, and the median-rule referee it reports epochs to."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from searchspace.spec import ArchSpec
from workers.config import SearchConfig


class MedianReferee:
    """Early stopping for multi-objective searches (Optuna's pruners only handle one objective).

    A trial is stopped after epoch ``e`` (past the warm-up) when its validation accuracy is below the median of
    the accuracies that finished trials reached at epoch ``e``, once ``min_trials`` of them reached it. Runs as
    a Ray actor so that parallel workers share the finished curves; the driver owns the curves and sends the
    whole list after every finished trial (``set_curves``), so an actor that died and was restarted by Ray
    holds them all again at the next trial, and a worker that cannot reach it keeps training.
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

    def set_curves(self, curves: list[list[float]]) -> None:
        self.curves = [list(curve) for curve in curves]


def epoch_check(referee: Any) -> Callable[[int, float], bool]:
    """The per-epoch callback a worker trains with: ask the referee, and train on when it cannot be reached."""
    import ray

    def on_epoch(epoch: int, accuracy: float) -> bool:
        if referee is None:
            return True
        try:
            return ray.get(referee.should_continue.remote(epoch, accuracy), timeout=30)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):  # no referee: train on
            return True

    return on_epoch


def evaluate_trial(spec: ArchSpec, config: SearchConfig, referee: Any = None) -> dict[str, Any]:
    """Train and measure ``spec``; the JSON-ready measurements the driver records. Runs in a Ray worker."""
    from workers.evaluation import evaluate

    result = evaluate(spec, config.dataset, config.budget, seed=config.seed, latency=config.latency,
                      threads=config.latency.threads, on_epoch=epoch_check(referee))
    return result.measurements()
