"""What became of one evaluation, as a type: the outcome, its measurements, and always its error and stop reason.

One mapping to Optuna's trial states (COMPLETE / PRUNED / FAIL) for every job the engine runs (searches and
the compound-scaling grid), so no caller passes outcomes around as strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import TrialState


class Outcome(enum.Enum):
    """How an evaluation ended."""

    COMPLETE = "complete"  # trained and measured to the end of its budget (``stopped`` may still say why early)
    PRUNED = "pruned"  # stopped early by the early-stopping rule, or rejected before training by a limit
    FAIL = "fail"  # raised, or its worker died, or the driver stopped it

    @property
    def state(self) -> TrialState:
        return {Outcome.COMPLETE: TrialState.COMPLETE, Outcome.PRUNED: TrialState.PRUNED,
                Outcome.FAIL: TrialState.FAIL}[self]


class Stopped(enum.Enum):
    """Why a training run ended before its last epoch (``TrainResult.stopped``; ``""`` when all epochs ran)."""

    CALLBACK = "callback"  # the early-stopping rule said stop
    TIME = "time"  # the per-trial ``max_seconds`` cap
    DIVERGED = "diverged"  # the loss became NaN or infinite


@dataclass(frozen=True)
class Evaluated:
    """One finished evaluation: ``measured`` holds the JSON-ready measurements (empty when it failed)."""

    outcome: Outcome
    measured: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    system: bool = False  # failed by Ray (its worker or node died), not by the evaluation itself

    @property
    def stopped(self) -> str | None:
        return self.measured.get("stopped") or None

    def record(self) -> dict[str, Any]:
        """The measurements with ``error`` and ``stopped`` always present (None when there is none)."""
        return {**self.measured, "error": self.error, "stopped": self.stopped}

    @classmethod
    def failed(cls, error: str, system: bool = False) -> Evaluated:
        return cls(Outcome.FAIL, {}, error[:4000], system)

    @classmethod
    def from_measured(cls, measured: dict[str, Any]) -> Evaluated:
        """An evaluation function's result: pruned when training stopped on the early-stopping rule."""
        pruned = measured.get("stopped") == Stopped.CALLBACK.value
        return cls(Outcome.PRUNED if pruned else Outcome.COMPLETE, dict(measured))
