"""What a grid search found: each candidate's result, the ranking, the chosen coefficients."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any

from scaler.grid_config import Candidate, GridConfig


class CandidateStatus(enum.StrEnum):
    """A candidate's state: ``pending`` (not evaluated yet), ``running`` (read back while a run goes on),
    ``complete`` or ``failed`` (``error`` says why)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class CandidateResult:
    """One candidate: its coefficients, the phi = 1 network's counts, and what its proxy training measured.

    ``status`` is ``complete``, ``failed`` (``error`` says why), ``pending`` (not evaluated yet: the run was
    cancelled or interrupted first) or, read back by ``load_grid`` while a run goes on, ``running``. ``resolution``, ``params``, ``macs`` and ``macs_ratio`` are those of the
    base's own phi = 1 network (``scaler.derive``); the ``proxy_*`` fields those of the network trained.
    ``rank`` is 1 for the chosen candidate; ``reused`` marks a result read back from an earlier run.
    """

    alpha: float
    beta: float
    gamma: float
    status: CandidateStatus = CandidateStatus.PENDING
    error: str | None = None
    ratio: float | None = None
    resolution: int | None = None
    params: int | None = None
    macs: int | None = None
    macs_ratio: float | None = None
    proxy_resolution: int | None = None
    proxy_params: int | None = None
    proxy_macs: int | None = None
    proxy_macs_ratio: float | None = None
    accuracy: float | None = None
    epoch_accuracies: tuple[float, ...] = ()
    latency_ms: float | None = None
    train_seconds: float | None = None
    eval_seconds: float | None = None
    stopped: str | None = None
    trial: int | None = None
    reused: bool = False
    rank: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CandidateStatus(self.status))  # accepts the plain string too

    @property
    def candidate(self) -> Candidate:
        return Candidate(self.alpha, self.beta, self.gamma)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready data as persisted in the trial (without the per-run ``trial``, ``reused``, ``rank``)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("trial", "reused", "rank")}
        data["epoch_accuracies"] = list(self.epoch_accuracies)
        return data

    def to_dict(self) -> dict[str, Any]:
        return {**self.to_record(), "key": self.candidate.key, "trial": self.trial, "reused": self.reused,
                "rank": self.rank}

    @classmethod
    def from_record(cls, data: dict[str, Any], **extra: Any) -> CandidateResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["epoch_accuracies"] = tuple(known.get("epoch_accuracies") or ())
        return cls(**{**known, **extra})


def rank(results: list[CandidateResult]) -> list[CandidateResult]:
    """Complete candidates by accuracy (ties: fewer MACs, then grid order) with ranks 1.., then the others."""

    def done(r: CandidateResult) -> bool:
        return r.status is CandidateStatus.COMPLETE and r.accuracy is not None

    indexed = list(enumerate(results))
    best = sorted(
        (ir for ir in indexed if done(ir[1])),
        key=lambda ir: (-ir[1].accuracy, ir[1].macs if ir[1].macs is not None else math.inf, ir[0]),
    )
    rest = sorted((ir for ir in indexed if not done(ir[1])), key=lambda ir: (ir[1].status is not CandidateStatus.FAILED, ir[0]))
    return [replace(r, rank=i + 1) for i, (_, r) in enumerate(best)] + [replace(r, rank=None) for _, r in rest]


@dataclass(frozen=True, kw_only=True)
class GridResult:
    """The ranked candidates of one grid search and the chosen coefficients (None if nothing completed).

    ``stopped`` is why the run ended (``workers.engine.Stop``: ``budget`` when every candidate finished,
    ``cancelled``, ``interrupted``, ...); empty for a state read back while no run goes on.
    """

    study_name: str
    base_name: str
    config: GridConfig
    candidates: list[CandidateResult]
    stopped: str = ""

    @property
    def chosen(self) -> CandidateResult | None:
        first = self.candidates[0] if self.candidates else None
        return first if first is not None and first.rank == 1 else None

    def counts(self) -> dict[str, int]:
        out = {"complete": 0, "failed": 0, "pending": 0}
        for r in self.candidates:
            out[r.status.value] = out.get(r.status.value, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        chosen = self.chosen
        return {
            "study_name": self.study_name,
            "base_name": self.base_name,
            "stopped": self.stopped,
            "counts": self.counts(),
            "chosen": None if chosen is None else chosen.to_dict(),
            "ranked": [r.to_dict() for r in self.candidates],
            "config": self.config.to_dict(),
        }
