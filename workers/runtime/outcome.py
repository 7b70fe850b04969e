"""What became of one evaluation, as a type: the outcome, its measurements, and always its error and stop reason.

One trial-state type (``TrialState``, Optuna's names) for every job the engine runs (searches and the
compound-scaling grid) and for what the service stores, so no caller passes outcomes around as strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import optuna

from workers.training import Measurements, Stopped


class TrialState(enum.StrEnum):
    """The state of a trial (or a baseline) of a job: Optuna's state names, which are also what the service
    stores and answers. An evaluation ends COMPLETE, PRUNED or FAIL (its ``Outcome``)."""

    WAITING = "WAITING"  # enqueued, not started
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"  # trained and measured to the end of its budget (``stopped`` may still say why early)
    PRUNED = "PRUNED"  # stopped early by the early-stopping rule, or rejected before training by a limit
    FAIL = "FAIL"  # raised, or its worker died, or the driver stopped it

    @property
    def optuna(self) -> optuna.trial.TrialState:
        """The same state as Optuna's enum."""
        return optuna.trial.TrialState[self.name]

    @classmethod
    def of(cls, state: optuna.trial.TrialState) -> TrialState:
        return cls[state.name]

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
Outcome = TrialState  # how an evaluation ended: one of FINISHED


@dataclass(frozen=True)
class Evaluated:
    """One finished evaluation: ``measured`` holds the JSON-ready measurements (empty when it failed)."""

    outcome: TrialState  # one of FINISHED
    measured: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    system: bool = False  # failed by Ray (its worker or node died), not by the evaluation itself

    @property
    def measurements(self) -> Measurements:
        """``measured`` as its type."""
        return Measurements.from_dict(self.measured)

    @property
    def stopped(self) -> Stopped | None:
        """Why training ended early (None: it ran every epoch, or failed)."""
        return self.measurements.stopped

    def record(self) -> dict[str, Any]:
        """The measurements with ``error`` and ``stopped`` always present (None when there is none)."""
        stopped = self.stopped
        return {**self.measured, "error": self.error, "stopped": None if stopped is None else stopped.value}

    @classmethod
    def failed(cls, error: str, system: bool = False) -> Evaluated:
        return cls(TrialState.FAIL, {}, error[:4000], system)

    @classmethod
    def from_measured(cls, measured: dict[str, Any]) -> Evaluated:
        """An evaluation function's result: pruned when training stopped on the early-stopping rule."""
        evaluated = cls(TrialState.COMPLETE, dict(measured))
        return evaluated if evaluated.stopped is not Stopped.CALLBACK else cls(TrialState.PRUNED, dict(measured))
