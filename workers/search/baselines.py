"""Baselines beside every search: zoo networks fitted to the search (``searchspace.fit``; for a detection search
the detector zoo's, ``workers.search.task``), trained and measured
by the same evaluation and budget as its trials, and judged against its front.

They live in a study of their own, ``<search study>-baselines`` in the same storage (written through the
``Ledger``), one trial per baseline holding its record, so the sampler never sees them. A resumed search trains
only the baselines that have not finished (one interrupted by a stop runs again). ``WithBaselines`` runs them in
the search's own engine slots, ahead of the search's first proposals, so they are visible while it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import optuna
from optuna.trial import FrozenTrial, Trial

from searchspace.errors import SpecError
from searchspace.latency_table import MissingEntryError
from searchspace.spec import ArchSpec
from workers.runtime import (
    INTERRUPTED,
    RECORD,
    Evaluated,
    EvaluateFn,
    Ledger,
    Outcome,
    Proposal,
    Source,
    Stop,
    StopReason,
    Stored,
    Task,
    TrialState,
    open_storage,
)
from workers.search.config import SearchConfig
from workers.search.results import Measured, TrialRecord, dominates
from workers.search.task import TASKS
from workers.training import Measurements

SUFFIX = "-baselines"
BASELINE = "baseline"  # the record key holding a baseline's name (the zoo network's)


def baseline_study_name(study_name: str) -> str:
    """The study beside ``study_name`` that holds its baselines."""
    return study_name + SUFFIX


@dataclass(frozen=True, kw_only=True)
class BaselineRecord(Measured):
    """One baseline as trained and measured, with how it was fitted to the search (``changes``)."""

    RUN: ClassVar[tuple[str, ...]] = ("state", "name")  # the name is stored as "baseline"

    name: str
    width: float | None = None
    macs_range: list[int] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, state: TrialState, record: dict[str, Any]) -> BaselineRecord:
        return cls(name=record.get(BASELINE, ""), state=state, **cls.known(record, *cls.RUN))

    def to_record(self) -> dict[str, Any]:
        return {BASELINE: self.name, **super().to_record()}


def verdict(baseline: BaselineRecord, front: Sequence[TrialRecord], objective: str) -> dict[str, Any]:
    """Whether the front dominates the baseline on (accuracy, cost), and its cheapest trial that does
    (``dominated`` is None while the baseline has no measurements)."""
    cost = baseline.metric(objective)
    if baseline.state is not TrialState.COMPLETE or baseline.accuracy is None or cost is None:
        return {"dominated": None, "dominated_by": None}
    point = (baseline.accuracy, float(cost))
    by = next((t.number for t in front if t.accuracy is not None and t.metric(objective) is not None
               and dominates((t.accuracy, float(t.metric(objective))), point)), None)
    return {"dominated": by is not None, "dominated_by": by}


def judged(baselines: Iterable[BaselineRecord], front: Sequence[TrialRecord], objective: str) -> list[dict[str, Any]]:
    """Every baseline as JSON data with its verdict against ``front``."""
    return [{**b.to_dict(), **verdict(b, front, objective)} for b in baselines]


def latest(trials: Iterable[FrozenTrial]) -> list[BaselineRecord]:
    """The last record of each baseline in a baselines study (an interrupted one may have run again)."""
    out: dict[str, BaselineRecord] = {}
    for t in sorted(trials, key=lambda t: t.number):
        record = t.user_attrs.get(RECORD, {})
        if BASELINE in record:
            out[record[BASELINE]] = BaselineRecord.from_record(TrialState.of(t.state), record)
    return list(out.values())


def load_baselines(storage_url: str, study_name: str) -> list[BaselineRecord]:
    """The baselines of search ``study_name`` ([] when it has none)."""
    try:
        study = optuna.load_study(study_name=baseline_study_name(study_name), storage=open_storage(storage_url))
    except KeyError:
        return []
    return latest(study.get_trials(deepcopy=False))


@dataclass
class _Running:
    trial: Trial
    stored: Stored
    record: BaselineRecord


class BaselineSource:
    """The baselines still to train, as an engine source (see the module docstring)."""

    def __init__(self, config: SearchConfig, storage_url: str, study_name: str, evaluate_fn: EvaluateFn,
                 on_baseline: Callable[[BaselineRecord], None],
                 predict_latency: Callable[[ArchSpec], dict[str, Any]] | None = None) -> None:
        """``predict_latency``: the search's device-profile predictor, so that baselines and trials are timed alike."""
        self.config, self.evaluate_fn, self.on_baseline = config, evaluate_fn, on_baseline
        self.predict_latency = predict_latency
        self.todo: list[str] = []
        if not config.baselines:
            return
        self.ledger = Ledger(storage_url, baseline_study_name(study_name), ["maximize"],
                             lambda stored: optuna.samplers.RandomSampler(seed=stored), metric_names=["accuracy"])
        history = self.ledger.recover(requeue=False)
        settled = {b.name for b in latest(history) if b.state is TrialState.COMPLETE or b.error != INTERRUPTED}
        self.todo = [name for name in config.baselines if name not in settled]

    def wants_more(self) -> bool:
        return bool(self.todo)

    def propose(self) -> Task | Proposal:
        name = self.todo.pop(0)
        trial = self.ledger.ask()
        try:
            adapted = TASKS[self.config.task].baseline(name, self.config)
        except SpecError as err:
            stored = self.ledger.persist(trial, {})
            self._tell(_Running(trial, stored, BaselineRecord(name=name, error=f"cannot fit it: {err}")), Outcome.FAIL)
            return Proposal.INVALID
        record = BaselineRecord.from_record(TrialState.RUNNING, {
            **adapted.to_dict(), **self._predicted(adapted.spec)})
        record = replace(record, spec_key=adapted.spec.to_string())
        running = _Running(trial, self.ledger.persist(trial, record.to_record()), record)
        self.on_baseline(record)
        return Task(self.evaluate_fn, (adapted.spec, self.config, None), running)

    def _predicted(self, spec: ArchSpec) -> dict[str, Any]:
        """Its latency from the search's device profile; a profile without its blocks leaves it unknown."""
        if self.predict_latency is None:
            return {}
        try:
            return self.predict_latency(spec)
        except MissingEntryError as err:
            return Measurements(latency_source=f"not predicted: {err}").to_dict()

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        outcome = Outcome.FAIL if evaluated.outcome is Outcome.FAIL else Outcome.COMPLETE  # no referee: no pruning
        running: _Running = task.item
        measured = BaselineRecord.known(evaluated.record(), *BaselineRecord.RUN)
        self._tell(replace(running, record=replace(running.record, **measured)), outcome)

    def abandoned(self, task: Task, stop: Stop) -> None:
        error = INTERRUPTED if stop.reason is StopReason.INTERRUPTED else f"{stop}: stopped before the evaluation ended"
        running: _Running = task.item
        self._tell(replace(running, record=replace(running.record, error=error, stopped=stop.reason)), Outcome.FAIL)

    def _tell(self, running: _Running, outcome: Outcome) -> None:
        record = replace(running.record, state=outcome)
        values = [float(record.accuracy)] if outcome is Outcome.COMPLETE else None
        self.ledger.finish(running.trial, running.stored, record.to_record(), outcome, values)
        self.on_baseline(record)


class WithBaselines:
    """The search's source with its baselines proposed first; each finished task goes back to its own source.
    Anything else the engine asks of a source is the search's."""

    def __init__(self, search: Source, baselines: BaselineSource) -> None:
        self.search, self.baselines = search, baselines

    def __getattr__(self, name: str) -> Any:
        return getattr(self.search, name)

    def wants_more(self) -> bool:
        return self.baselines.wants_more() or self.search.wants_more()

    def propose(self) -> Task | Proposal:
        return self.baselines.propose() if self.baselines.wants_more() else self.search.propose()

    def _owner(self, task: Task) -> Source:
        return self.baselines if isinstance(task.item, _Running) else self.search

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        self._owner(task).finished(task, evaluated)

    def abandoned(self, task: Task, stop: Stop) -> None:
        self._owner(task).abandoned(task, stop)
