"""The architecture search on the job engine: Optuna proposes (ask), Ray workers evaluate, results are told.

The study lives in an RDB storage (a SQLite file by default, PostgreSQL when the URL says so), so an interrupted
driver resumes it: trials left RUNNING by a dead driver are failed and their architectures re-queued, completed
ones are never evaluated again, and an architecture already evaluated is reused instead of retrained.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial

from searchspace.detection import DetectorSpec
from searchspace.errors import SpecError
from searchspace.latency_table import DeviceProfile, MissingEntryError
from searchspace.space import params_of
from searchspace.spec import ArchSpec
from workers.latency import predictor_for
from workers.runtime import (
    INTERRUPTED,
    EngineLimits,
    Evaluated,
    Executor,
    Ledger,
    Outcome,
    Proposal,
    RayExecutor,
    Stop,
    StopCheck,
    StopReason,
    Stored,
    Task,
    TrialState,
    checkpoint,
    restart_ray,
    run_engine,
    until_available,
    with_restarts,
)
from workers.screening import screened_mark
from workers.search.baselines import BaselineRecord, BaselineSource, WithBaselines
from workers.search.config import Pruner, SearchConfig
from workers.search.results import TrialRecord, mnasnet_reward
from workers.search.rungs import Report, reports_of
from workers.search.search_result import CONFIG_ATTR, SearchResult, load_result
from workers.search.strategies import STRATEGIES
from workers.search.strategy import Judge, Start
from workers.search.task import TASKS, evaluate_trial
from workers.search.trial import MedianReferee, RungReferee, Ticket
from workers.search.warm_start import warm_start
from workers.training import Measurements, Stopped

log = logging.getLogger(__name__)
MAX_MISSING_IN_A_ROW = 10  # candidates the device profile lacks before the search stops with an error
EvaluateFn = Callable[[ArchSpec | DetectorSpec, SearchConfig, Any], dict[str, Any]]


def ray_executor(config: SearchConfig) -> RayExecutor:
    """The search's Ray executor: ``latency.threads`` CPUs per trial, ``n_workers`` trials at a time."""
    return RayExecutor(config.latency.threads, config.n_workers * config.latency.threads, budget=config.budget,
                       latency_device=config.latency.device, dataset=TASKS[config.task].shipped(config))


def _directions(config: SearchConfig) -> list[str]:
    return ["maximize", "minimize"] if config.mode == "pareto" else ["maximize"]


def _metric_names(config: SearchConfig) -> list[str]:
    if config.mode == "pareto":
        return ["accuracy", _cost_key(config)]
    return ["reward" if config.mode == "reward" else "accuracy"]


def make_sampler(config: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.sampler == "tpe":
        startup = min(10, max(2, config.n_trials // 4))
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=startup)
    population = max(4, min(50, config.n_trials // 4))
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)


def counts_against_budget(record: TrialRecord) -> bool:
    """Completed, or pruned after training (not rejected by a limit, not a duplicate that copied another trial's
    result)."""
    if record.reused_from is not None:
        return False
    return record.state is TrialState.COMPLETE or (record.state is TrialState.PRUNED and not record.rejected)


def trained(trial: FrozenTrial) -> bool:
    """A stored trial counts against the trial budget (``counts_against_budget``)."""
    return counts_against_budget(TrialRecord.from_trial(trial))


@dataclass
class Pending:
    """A trial being evaluated, and the identical proposals that will share its result."""

    trial: Trial
    stored: Stored
    key: str
    record: TrialRecord
    twins: list[tuple[Trial, Stored, TrialRecord]] = field(default_factory=list)


class SearchDriver:
    """Runs one search to its trial budget, time budget or a stop. See the module docstring."""

    def __init__(
        self,
        config: SearchConfig,
        storage_url: str,
        study_name: str,
        evaluate_fn: EvaluateFn = evaluate_trial,
        should_stop: StopCheck | None = None,
        on_trial: Callable[[TrialRecord], None] | None = None,
        poll_s: float = 0.5,
        on_baseline: Callable[[BaselineRecord], None] | None = None,
        profile: DeviceProfile | None = None,
        make_executor: Callable[[SearchConfig], Executor] = ray_executor,
        checkpoint_dir: Path | None = None,
        on_phase: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``profile``: the device profile ``config.latency.device`` names, to predict latencies from;
        ``make_executor``: where the trials run (a fresh one for each attempt); ``checkpoint_dir``: where the
        strategy keeps what a resumed search reads again (a one-shot search's supernet checkpoint; None: not
        kept); ``on_phase``: the progress of a strategy's phase before the trials (the supernet's training)."""
        self.config = config
        self.profile = profile
        self.storage_url = storage_url
        self.study_name = study_name
        self.evaluate_fn = evaluate_fn
        self.should_stop = should_stop
        self.on_trial = on_trial or (lambda record: None)
        self.poll_s = poll_s
        self.on_baseline = on_baseline or (lambda record: None)
        self.make_executor = make_executor
        self.checkpoint_dir = checkpoint_dir
        self.on_phase = on_phase or (lambda progress: None)

    def run(self) -> SearchResult:
        config = TASKS[self.config.task].sized(self.config)
        deadline = None if config.timeout_s is None else time.monotonic() + config.timeout_s

        def attempt() -> Stop:  # resumes the study: run again as a whole after Ray was restarted
            ledger = Ledger(self.storage_url, self.study_name, _directions(config),
                            lambda stored: make_sampler(config, config.seed + stored),  # resumed: fresh draws
                            metric_names=_metric_names(config))
            until_available(lambda: ledger.storage.set_study_user_attr(ledger.study_id, CONFIG_ATTR, config.to_dict()),
                            what="store the search's config")
            executor = self.make_executor(config)
            judge = STRATEGIES[config.strategy](Start(
                config, self.study_name, self.evaluate_fn, self.should_stop or (lambda: None), deadline,
                self.checkpoint_dir, self.on_phase, self.poll_s))
            if isinstance(judge, Stop):  # stopped while the strategy got ready
                return judge
            source = _SearchSource(self, config, ledger, judge)
            baselines = BaselineSource(config, self.storage_url, self.study_name, self.evaluate_fn, self.on_baseline,
                                       source.predict_latency)
            left = None if config.timeout_s is None else max(0.0, config.timeout_s - judge.phase_s)
            limits = EngineLimits(slots=config.n_workers, timeout_s=left, poll_s=self.poll_s)
            try:
                stop = source.explain(run_engine(WithBaselines(source, baselines), executor, limits, self.should_stop))
                if source.uncovered:
                    raise SpecError("latency.device", source.uncovered)
                return stop
            finally:
                source.close()
                judge.close()

        stop = with_restarts(attempt, restart_ray)
        until_available(lambda: checkpoint(self.storage_url), what="checkpoint the database")
        return load_result(self.storage_url, self.study_name, config, stop)


class _SearchSource:
    """The search as an engine source: sample, reject/reuse/attach/evaluate, tell."""

    def __init__(self, driver: SearchDriver, config: SearchConfig, ledger: Ledger, judge: Judge) -> None:
        self.driver, self.config, self.ledger, self.judge = driver, config, ledger, judge
        self.task = TASKS[config.task]
        self.pruner = config.pruner if judge.prunes else Pruner.NONE
        history = ledger.recover()
        if not history:  # a new study: the strategy's first candidates, then zero-cost screening's (if configured)
            for spec in judge.first:
                ledger.memory.enqueue_trial(params_of(config.space, spec), skip_if_exists=True)
            warm_start(ledger.memory, config)
        records = [TrialRecord.from_trial(t) for t in history]
        self.done = {r.spec_key: (r.number, r) for r in records if r.state is TrialState.COMPLETE and r.spec_key}
        spent = [r for r in records if counts_against_budget(r)]
        self.counted = len(spent)  # trials against the budget
        self.cpu_spent = judge.cpu_seconds + sum(r.cpu_seconds or 0.0 for r in spent)
        self.by_key: dict[str, Pending] = {}
        self.curves = [record.epoch_accuracies for _, record in self.done.values()]
        self.rung_history = [report for r in spent for report in self._rung_reports(r)]
        self.referee = self._start_referee()
        self.predict_latency = predictor_for(config.latency, driver.profile)
        self.missing, self.uncovered = 0, ""  # candidates in a row the device profile lacks; why it gave up
        for number, record in ledger.recovered:  # failed by recovery: visible now, not when the job ends
            driver.on_trial(TrialRecord.from_record(number, TrialState.FAIL, record))

    def _start_referee(self) -> Any:
        """The early-stopping rule's Ray actor (None when off), holding what the finished trials taught it."""
        config = self.config
        if self.pruner == "none":
            return None
        import ray

        if self.pruner == "median":
            actor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(MedianReferee)
            return actor.remote(config.pruner_warmup_epochs, config.pruner_min_trials, self.curves)
        actor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(RungReferee)
        return actor.remote(config.rungs, self.rung_history)

    def _rung_cost(self, macs: int) -> float:
        """The cost rungs rank by: counted MACs in mode pareto (latency is measured only after training, and
        MACs order candidates the same way on one device far better than noisy timings); none otherwise."""
        return float(macs) if self.config.mode == "pareto" else 0.0

    def _rung_reports(self, record: TrialRecord) -> list[Report]:
        if self.pruner != "asha" or record.macs is None:
            return []
        return reports_of(self.config.rungs, record.number, record.epoch_accuracies, self._rung_cost(record.macs),
                          record.stopped is Stopped.CALLBACK)

    def explain(self, stop: Stop) -> Stop:
        """The engine's stop, saying which budget ran out."""
        budget = self.config.cpu_budget_s
        if stop.reason is StopReason.BUDGET and budget is not None and self.cpu_spent >= budget:
            before = f", {self.judge.cpu_seconds:.0f} of them before the trials" if self.judge.cpu_seconds else ""
            return Stop(StopReason.BUDGET, f"{self.cpu_spent:.0f} CPU-seconds spent of the {budget:g} s "
                                           f"budget{before}")
        return stop

    def close(self) -> None:
        """No actor outlives its search."""
        if self.referee is not None:
            import ray

            ray.kill(self.referee)
            self.referee = None

    def wants_more(self) -> bool:
        """Trials and CPU-seconds left: evaluations in flight hold a trial each (their twins none)."""
        if self.uncovered:
            return False
        budget = self.config.cpu_budget_s
        if budget is not None and self.cpu_spent >= budget:
            return False
        return self.counted + len(self.by_key) < self.config.n_trials

    def propose(self) -> Task | Proposal:
        """Ask for one architecture: rejected, reused, attached to an identical running one, or to evaluate."""
        trial = self.ledger.ask()
        spec = self.task.propose(trial, self.config)
        key = spec.to_string()
        params, macs = self.task.cost(spec)
        record = TrialRecord(number=trial.number, spec_key=key, params=params, macs=macs,
                             **TrialRecord.known(screened_mark(trial), *TrialRecord.RUN))
        stored = self.ledger.persist(trial, record.to_record())  # its number in the study: set when told
        limit = _limit_exceeded(self.config, params, macs)
        if limit:
            self._tell(trial, stored, replace(record, rejected=limit), Outcome.PRUNED)
            return Proposal.REJECTED
        if key in self.done:
            number, previous = self.done[key]
            copied = replace(previous, reused_from=number, cpu_seconds=None, started_at=None, finished_at=None)
            self._tell(trial, stored, copied, Outcome.COMPLETE)
            return Proposal.REUSED
        if key in self.by_key:
            self.by_key[key].twins.append((trial, stored, record))
            return Proposal.DUPLICATE
        if self.predict_latency is not None:  # from the device profile: the worker times nothing
            try:
                record = replace(record, **TrialRecord.known(self.predict_latency(spec), *TrialRecord.RUN))
                self.missing = 0
            except MissingEntryError as err:
                self._tell(trial, stored, replace(record, error=str(err)), Outcome.FAIL)
                self.missing += 1
                if self.missing >= MAX_MISSING_IN_A_ROW:  # the profile does not cover the space: wind down
                    self.uncovered = f"{self.missing} candidates in a row are missing from the table; last: {err}"
                return Proposal.INVALID
        pending = Pending(trial, stored, key, record)
        self.by_key[key] = pending
        ticket = None if self.referee is None else Ticket(self.referee, stored.number, self._rung_cost(macs))
        return Task(*self.judge.task(spec, ticket), pending)

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        """Record one evaluation and its identical twins."""
        pending: Pending = task.item
        self.by_key.pop(pending.key, None)
        measured = evaluated.measurements
        record = replace(pending.record, **TrialRecord.known(evaluated.record(), *TrialRecord.RUN),
                         **self._fidelity(measured))
        told = self._tell(pending.trial, pending.stored, record, evaluated.outcome)
        self.cpu_spent += measured.cpu_seconds or 0.0
        if evaluated.outcome is Outcome.COMPLETE:
            self.done[pending.key] = (pending.stored.number, told)
            self.curves.append(measured.epoch_accuracies)
            if self.pruner == "median":
                self.referee.set_curves.remote(self.curves)
        if evaluated.outcome is not Outcome.FAIL:
            self.counted += 1
            self.rung_history.extend(self._rung_reports(told))
            if self.pruner == "asha":
                self.referee.set_history.remote(self.rung_history)
        for twin, twin_stored, _ in pending.twins:
            reused = pending.stored.number if evaluated.outcome is not Outcome.FAIL else told.reused_from
            self._tell(twin, twin_stored, replace(told, reused_from=reused, cpu_seconds=None), evaluated.outcome)

    def _fidelity(self, measured: Measurements) -> dict[str, Any]:
        """Epochs trained (``fidelity``), and under the asha pruner the highest rung reached (``rung``;
        ``len(milestones)``: trained to the full budget)."""
        curve = measured.epoch_accuracies
        if not curve:
            return {}
        rung = self.config.rungs.rung_index(len(curve), self.config.budget.epochs) if self.pruner == "asha" \
            else None
        return {"fidelity": len(curve), "rung": rung}

    def abandoned(self, task: Task, stop: Stop) -> None:
        """Fail a stopped evaluation; when the driver is only interrupted, it is re-queued on resume."""
        pending: Pending = task.item
        self.by_key.pop(pending.key, None)
        error = INTERRUPTED if stop.reason is StopReason.INTERRUPTED else f"{stop}: stopped before the evaluation ended"
        for trial, stored, record in [(pending.trial, pending.stored, pending.record), *pending.twins]:
            self._tell(trial, stored, replace(record, error=error, stopped=stop.reason), Outcome.FAIL)

    def _tell(self, trial: Trial, stored: Stored, record: TrialRecord, outcome: Outcome) -> TrialRecord:
        """Finish a trial in memory and in the storage; returns its record as stored."""
        config, values, constraint = self.config, None, None
        record = replace(record, number=stored.number, state=outcome)
        if outcome is Outcome.COMPLETE:
            values, reward = _objective_values(config, record)
            record = replace(record, reward=reward) if reward is not None else record
        cost = record.metric(config.objective)
        if config.mode == "constraint" and cost is not None:
            record = replace(record, constraint=float(cost) - float(config.target or 0.0))
            constraint = (_cost_key(config), record.constraint)  # feasible when <= 0
        self.ledger.finish(trial, stored, record.to_record(), outcome, values, constraint)
        self.driver.on_trial(record)
        return record


def _cost_key(config: SearchConfig) -> str:
    return "latency_ms" if config.objective == "latency" else "macs"


def _objective_values(config: SearchConfig, record: TrialRecord) -> tuple[list[float], float | None]:
    """The study's objective values of a completed trial, and its reward in mode reward."""
    accuracy, cost = float(record.accuracy), float(record.metric(config.objective))
    if config.mode == "pareto":
        return [accuracy, cost], None
    if config.mode == "reward":
        reward = mnasnet_reward(accuracy, cost, float(config.target or 1.0), config.reward)
        return [reward], reward
    return [accuracy], None


def _limit_exceeded(config: SearchConfig, params: int, macs: int) -> str:
    if config.max_params is not None and params > config.max_params:
        return f"params {params:,} > max_params {config.max_params:,}"
    if config.max_macs is not None and macs > config.max_macs:
        return f"MACs {macs:,} > max_macs {config.max_macs:,}"
    return ""
