"""Trial records read back from the Optuna study, the Pareto front and the best trial per mode."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from searchspace.detection import DetectorSpec, spec_from_string
from searchspace.spec import ArchSpec
from workers.runtime import RECORD, StopReason, TrialState
from workers.training import Measurements, Stopped

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from workers.search.config import SearchConfig


def parse_stopped(value: Stopped | StopReason | str | None) -> Stopped | StopReason | None:
    """A record's ``stopped`` as its type: why training ended early (``Stopped``), or why the job stopped the
    evaluation before it ended (``StopReason``); None when it ran out."""
    if value is None or value == "" or isinstance(value, Stopped | StopReason):
        return value or None
    return Stopped(value) if value in Stopped._value2member_map_ else StopReason(value)


@dataclass(frozen=True, kw_only=True)
class Measured(Measurements):
    """What one evaluation of an architecture measured (``Measurements``, the worker's record) with what the
    driver adds: the fields a search's trial and a baseline share.

    The one record type from an evaluation to the store: ``known`` reads the JSON record a trial keeps in its
    study, ``to_dict`` writes it, ``details`` is what the service stores beside its columns."""

    DETAILS: ClassVar[tuple[str, ...]] = ("epoch_accuracies", "stopped", "train_seconds", "eval_seconds", "device",
                                          "latency_source")
    RUN: ClassVar[tuple[str, ...]] = ("state",)  # what the study itself holds, not the record

    macs: int | None = None
    params: int | None = None
    spec_key: str | None = None  # the architecture's one-line form: the one stored copy of its spec
    error: str | None = None
    stopped: Stopped | StopReason | None = None  # see ``parse_stopped``
    state: TrialState = TrialState.RUNNING

    def __post_init__(self) -> None:  # accepts the stored strings too
        object.__setattr__(self, "state", TrialState(self.state))
        object.__setattr__(self, "stopped", parse_stopped(self.stopped))

    @classmethod
    def known(cls, record: dict[str, Any], *skip: str) -> dict[str, Any]:
        """The fields of ``record`` (a stored record) this type has, but ``skip``."""
        return {k: record[k] for k in cls.__dataclass_fields__ if k in record and k not in skip}

    @property
    def arch(self) -> ArchSpec | DetectorSpec | None:
        """The architecture (a DetectorSpec in a detection search) read back from ``spec_key``."""
        return None if self.spec_key is None else spec_from_string(self.spec_key)

    def metric(self, objective: str) -> float | None:
        return self.latency_ms if objective == "latency" else self.macs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the enums as their values."""
        data = asdict(self)
        data["state"] = self.state.value
        data["stopped"] = None if self.stopped is None else self.stopped.value
        return data

    def to_record(self) -> dict[str, Any]:
        """The JSON record kept in the study (``known`` reads it back): what was measured and decided, ``error``
        and ``stopped`` always, without what the study itself holds (``RUN``)."""
        return {k: v for k, v in Measured.to_dict(self).items()
                if k not in self.RUN and (k in ("error", "stopped") or v not in (None, []))}

    def details(self) -> dict[str, Any]:
        """The ``DETAILS`` fields that are set, JSON-ready (what the service keeps beside its columns)."""
        data = self.to_dict()
        return {k: data[k] for k in self.DETAILS if data[k] not in (None, [])}


@dataclass(frozen=True, kw_only=True)
class TrialRecord(Measured):
    """One evaluated (or failed, or pruned) architecture with every measurement kept for it."""

    DETAILS: ClassVar[tuple[str, ...]] = (*Measured.DETAILS, "node_id", "reused_from", "screened", "started_at",
                                          "finished_at", "cpu_seconds", "fidelity", "rung")

    number: int
    reward: float | None = None
    fidelity: int | None = None  # epochs trained: the full budget, or where early stopping stopped it
    rung: int | None = None  # asha pruner: the highest rung reached (the number of rungs: full fidelity)
    reused_from: int | None = None
    screened: dict[str, Any] | None = None  # proxy, score and rank of a candidate the zero-cost screen enqueued
    rejected: str | None = None
    constraint: float | None = None  # mode constraint: cost - target (feasible when <= 0)
    started_at: str | None = None
    finished_at: str | None = None

    RUN: ClassVar[tuple[str, ...]] = ("number", "state", "started_at", "finished_at")  # the study's, not the record's

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> TrialRecord:
        return cls(
            number=trial.number,
            state=TrialState.of(trial.state),
            started_at=trial.datetime_start.isoformat() if trial.datetime_start else None,
            finished_at=trial.datetime_complete.isoformat() if trial.datetime_complete else None,
            **cls.known(trial.user_attrs.get(RECORD, {}), *cls.RUN),
        )

    @classmethod
    def from_record(cls, number: int, state: TrialState, record: dict[str, Any]) -> TrialRecord:
        return cls(number=number, state=state, **cls.known(record, *cls.RUN))

    @property
    def spec(self) -> dict[str, Any] | None:
        """The architecture as JSON, rebuilt from ``spec_key`` (the string round-trips exactly)."""
        arch = self.arch
        return None if arch is None else arch.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "spec": self.spec}


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """a = (accuracy, cost) dominates b: no worse in both, better in one."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


def pareto_front(records: Iterable[TrialRecord], objective: str) -> list[TrialRecord]:
    """Non-dominated completed trials (maximise accuracy, minimise latency or MACs), by increasing cost."""
    done = [r for r in records if r.state is TrialState.COMPLETE and r.accuracy is not None
            and r.metric(objective) is not None]
    points = {r.number: (r.accuracy, float(r.metric(objective))) for r in done}
    front = [r for r in done if not any(dominates(points[o.number], points[r.number]) for o in done)]
    unique: dict[tuple[float, float], TrialRecord] = {}
    for r in sorted(front, key=lambda r: r.number):
        unique.setdefault(points[r.number], r)
    return sorted(unique.values(), key=lambda r: (points[r.number][1], -points[r.number][0]))


def best_trial(records: Sequence[TrialRecord], config: SearchConfig) -> TrialRecord | None:
    """Highest reward (mode reward), most accurate feasible (constraint) or most accurate on the front."""
    done = [r for r in records if r.state is TrialState.COMPLETE and r.accuracy is not None]
    if config.mode == "reward":
        done = [r for r in done if r.reward is not None]
        return max(done, key=lambda r: (r.reward, -r.number), default=None)
    if config.mode == "constraint":
        done = [r for r in done if (r.metric(config.objective) or math.inf) <= (config.target or math.inf)]
    return max(done, key=lambda r: (r.accuracy, -(r.metric(config.objective) or 0.0), -r.number), default=None)


def hypervolume(points: Iterable[tuple[float, float]], reference_cost: float) -> float:
    """Area dominated by (accuracy, cost) points above accuracy 0 and below ``reference_cost``."""
    front = sorted((c, a) for a, c in points if c < reference_cost)
    area, best_acc = 0.0, 0.0
    for i, (cost, acc) in enumerate(front):
        best_acc = max(best_acc, acc)
        next_cost = front[i + 1][0] if i + 1 < len(front) else reference_cost
        area += best_acc * (next_cost - cost)
    return area


def hypervolume_subset(points: Sequence[tuple[float, float]], k: int, reference_cost: float) -> list[int]:
    """Indices of ``k`` of the (accuracy, cost) points whose hypervolume (``hypervolume``) is largest, chosen
    greedily (each next point the one adding the most; ties to the earlier index), as SMS-EMOA and Optuna's
    multi-objective samplers select a front's representatives; all of them when there are no more than ``k``."""
    chosen: list[int] = []
    while len(chosen) < min(k, len(points)):
        base = [points[i] for i in chosen]
        left = [i for i in range(len(points)) if i not in chosen]
        chosen.append(max(left, key=lambda i: (hypervolume([*base, points[i]], reference_cost), -i)))
    return chosen


def mnasnet_reward(accuracy: float, cost: float, target: float, kind: str) -> float:
    """MnasNet's ACC * (COST/T)^w: soft w = -0.07; hard w = 0 at or below T and -1 above."""
    w = -0.07 if kind == "soft" else (0.0 if cost <= target else -1.0)
    return accuracy * (cost / target) ** w
