"""What a Ray worker runs for one trial, and the early-stopping referees it reports epochs to.

A referee runs as a Ray actor (parallel workers share it); a worker holds a ``Ticket`` naming the actor, its
trial and the trial's cost, and asks after every epoch whether to train on.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workers.search.rungs import Decision, Report, RungConfig, Rungs


@dataclass(frozen=True)
class Ticket:
    """What a worker sends its referee: ``referee.should_continue(trial_id, epoch, accuracy, cost)``."""

    referee: Any  # a Ray actor handle of MedianReferee or RungReferee
    trial_id: int
    cost: float

    def ask(self, epoch: int, accuracy: float) -> Any:
        return self.referee.should_continue.remote(self.trial_id, epoch, accuracy, self.cost)


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

    def should_continue(self, trial_id: int, epoch: int, accuracy: float, cost: float) -> bool:
        if epoch < self.warmup_epochs:
            return True
        reached = [curve[epoch] for curve in self.curves if len(curve) > epoch]
        return len(reached) < self.min_trials or accuracy >= statistics.median(reached)

    def set_curves(self, curves: list[list[float]]) -> None:
        self.curves = [list(curve) for curve in curves]


class RungReferee:
    """MO-ASHA as a Ray actor: at each rung's epoch a trial goes on only when ``workers.search.rungs`` promotes it.

    The driver sends every finished trial's decisions (``set_history``), so an actor that died and was restarted
    by Ray decides as before from the next finished trial on (``Rungs.rebuild``).
    """

    def __init__(self, config: RungConfig, history: Sequence[Report] = ()) -> None:
        self.rungs = Rungs.rebuild(config, history)

    def should_continue(self, trial_id: int, epoch: int, accuracy: float, cost: float) -> bool:
        rung = self.rungs.config.rung_of(epoch + 1)  # epoch is 0-based: epoch + 1 epochs trained
        return rung is None or self.rungs.decide(trial_id, rung, accuracy, cost) is Decision.PROMOTE

    def set_history(self, history: Sequence[Report]) -> None:
        known = self.rungs.history()
        self.rungs = Rungs.rebuild(self.rungs.config, [*history, *known])  # keeps in-flight trials' decisions


def epoch_check(ticket: Ticket | None) -> Callable[[int, float], bool]:
    """The per-epoch callback a worker trains with: ask the referee, and train on when it cannot be reached."""
    import ray

    def on_epoch(epoch: int, accuracy: float) -> bool:
        if ticket is None:
            return True
        try:
            return ray.get(ticket.ask(epoch, accuracy), timeout=30)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):  # no referee: train on
            return True

    return on_epoch

