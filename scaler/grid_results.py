"""What a grid search found: each candidate's runs over seeds and their mean, the ranking, the rejected grid
points, the chosen coefficients and whether they beat the runner-up beyond seed noise."""

from __future__ import annotations

import enum
import math
import statistics
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from scaler.grid_config import Candidate, GridConfig, Rejection
from scaler.grid_stats import Comparison, compare, no_comparison
from workers.runtime import Stop
from workers.training import Stopped

if TYPE_CHECKING:
    from scaler.family_report import FamilyResult


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

    One training run (``seed`` set: what a trial records) or, from ``aggregate``, all the candidate's runs:
    ``accuracy`` is then their mean, ``accuracy_std`` its sample standard deviation over ``seeds`` (one
    ``accuracies`` entry each), ``epoch_accuracies`` the per-epoch means, ``latency_ms`` the median and the
    seconds the totals. ``status`` is ``complete`` (every seed), ``failed`` (a seed failed; ``error`` says
    why), ``pending`` (not every seed evaluated yet: the run was cancelled or interrupted first) or, read back
    by ``load_grid`` while a run goes on, ``running``. ``resolution``, ``params``, ``macs`` and ``macs_ratio``
    are those of the base's own phi = 1 network (``scaler.derive``, counted); the ``proxy_*`` fields those of
    the network trained. At full fidelity ``accuracy`` is the validation accuracy of the checkpoint the recipe
    selected (what ranks), ``test_accuracy`` its held-out test accuracy (the mean over seeds) and ``directory``
    where the run's product is (aggregated: the first seed's). ``rank`` is 1 for the chosen candidate; ``reused``
    marks results read back from an earlier run.
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
    accuracy_std: float | None = None
    test_accuracy: float | None = None
    directory: str | None = None
    seed: int | None = None
    seeds: tuple[int, ...] = ()
    accuracies: tuple[float, ...] = ()
    epoch_accuracies: tuple[float, ...] = ()
    latency_ms: float | None = None
    train_seconds: float | None = None
    eval_seconds: float | None = None
    stopped: Stopped | None = None  # why its (first) training run ended early
    trial: int | None = None
    reused: bool = False
    rank: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CandidateStatus(self.status))  # accepts the stored strings too
        object.__setattr__(self, "stopped", Stopped(self.stopped) if self.stopped else None)

    @property
    def candidate(self) -> Candidate:
        return Candidate(self.alpha, self.beta, self.gamma)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready data as persisted in the trial (without the per-run ``trial``, ``reused``, ``rank``)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("trial", "reused", "rank")}
        data.update({k: list(getattr(self, k)) for k in _TUPLES})
        data["stopped"] = None if self.stopped is None else self.stopped.value
        return data

    def to_dict(self) -> dict[str, Any]:
        return {**self.to_record(), "key": self.candidate.key, "trial": self.trial, "reused": self.reused,
                "rank": self.rank}

    @classmethod
    def from_record(cls, data: dict[str, Any], **extra: Any) -> CandidateResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known.update({k: tuple(known.get(k) or ()) for k in _TUPLES})
        return cls(**{**known, **extra})


_TUPLES = ("seeds", "accuracies", "epoch_accuracies")


def aggregate(prepared: CandidateResult, runs: dict[int, CandidateResult], seeds: list[int],
              running: frozenset[int] = frozenset()) -> CandidateResult:
    """The candidate over its runs (seed -> finished run; ``running``: seeds under way) for ``seeds``."""
    done = {s: runs[s] for s in seeds if s in runs}
    complete = [r for r in done.values() if r.status is CandidateStatus.COMPLETE and r.accuracy is not None]
    error = _failures({s: r for s, r in done.items() if r.status is CandidateStatus.FAILED})
    if error is not None:
        status = CandidateStatus.FAILED
    elif len(complete) == len(seeds):
        status = CandidateStatus.COMPLETE
    else:
        status = CandidateStatus.RUNNING if running & set(seeds) else CandidateStatus.PENDING
    trials = [r.trial for r in done.values() if r.trial is not None]
    base = next(iter(done.values()), prepared)  # the counts (every run of a candidate has the same)
    return replace(base, status=status, error=error, seed=None, trial=min(trials, default=None),
                   reused=bool(done) and all(r.reused for r in done.values()), **_measured(complete))


def _failures(failed: dict[int, CandidateResult]) -> str | None:
    """``seeds 0, 1: <error>; seed 2: <other error>``, or None when no run failed."""
    by_error: dict[str | None, list[str]] = {}
    for seed, run in failed.items():
        by_error.setdefault(run.error, []).append(str(seed))
    return "; ".join(f"seed{'s' * (len(s) > 1)} {', '.join(s)}: {e}" for e, s in by_error.items()) or None


def _measured(complete: list[CandidateResult]) -> dict[str, Any]:
    """The measurement fields over the complete runs: mean and spread, per-epoch means, median latency, totals."""
    accs = [r.accuracy for r in complete]
    tests = [r.test_accuracy for r in complete if r.test_accuracy is not None]
    latencies = [r.latency_ms for r in complete if r.latency_ms is not None]
    return {
        "seeds": tuple(r.seed for r in complete), "accuracies": tuple(accs),
        "accuracy": statistics.fmean(accs) if accs else None,
        "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else None,
        "test_accuracy": statistics.fmean(tests) if tests else None,
        "epoch_accuracies": tuple(statistics.fmean(e) for e in zip(*(r.epoch_accuracies for r in complete),
                                                                   strict=False)),
        "latency_ms": statistics.median(latencies) if latencies else None,
        "train_seconds": _total(r.train_seconds for r in complete),
        "eval_seconds": _total(r.eval_seconds for r in complete),
        "stopped": next((r.stopped for r in complete if r.stopped), None),
    }


def _total(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def rank(results: list[CandidateResult]) -> list[CandidateResult]:
    """Complete candidates by (mean) accuracy (ties: fewer MACs, then grid order) with ranks 1.., then the
    others."""

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

    ``stopped`` is why the run ended (``workers.runtime.Stop``: ``budget`` when every candidate finished,
    ``cancelled``, ``interrupted``, ...); None for a state read back while no run goes on. ``rejected`` are
    the grid points ``scaler.grid_config.screen`` left out untrained; ``comparison`` tests the chosen
    candidate against the runner-up (``scaler.grid_stats``). ``family`` is, at full fidelity, the chosen
    coefficients' family and its baselines trained (``scaler.family_train``); ``stopped`` is then the family's.
    """

    study_name: str
    base_name: str
    config: GridConfig
    candidates: list[CandidateResult]
    stopped: Stop | None = None
    rejected: list[Rejection] = field(default_factory=list)
    family: FamilyResult | None = None

    @property
    def chosen(self) -> CandidateResult | None:
        first = self.candidates[0] if self.candidates else None
        return first if first is not None and first.rank == 1 else None

    @property
    def comparison(self) -> Comparison:
        ranked = [r for r in self.candidates if r.rank is not None]
        level = self.config.significance
        if len(ranked) < 2:
            return no_comparison(level, f"{len(ranked)} complete candidate(s): nothing to compare")
        first, second = ranked[:2]
        return compare(first.candidate.key, dict(zip(first.seeds, first.accuracies, strict=True)),
                       second.candidate.key, dict(zip(second.seeds, second.accuracies, strict=True)), level)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in (CandidateStatus.COMPLETE, CandidateStatus.FAILED, CandidateStatus.PENDING)}
        for r in self.candidates:
            out[r.status.value] = out.get(r.status.value, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        chosen = self.chosen
        return {
            "study_name": self.study_name,
            "base_name": self.base_name,
            "stopped": "" if self.stopped is None else str(self.stopped),
            "counts": self.counts(),
            "chosen": None if chosen is None else chosen.to_dict(),
            "comparison": self.comparison.to_dict(),
            "ranked": [r.to_dict() for r in self.candidates],
            "rejected": [r.to_dict() for r in self.rejected],
            "config": self.config.to_dict(),
            "family": None if self.family is None else self.family.to_dict(),
        }
