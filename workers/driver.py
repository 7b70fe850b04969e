"""The search driver: Optuna proposes (ask), Ray workers evaluate, results are told and persisted.

The study lives in an RDB storage (a SQLite file by default, PostgreSQL when the URL says so), so an interrupted
driver resumes it: trials left RUNNING by a dead driver are failed and their architectures re-queued, completed
ones are never evaluated again, and an architecture already evaluated is reused instead of retrained.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from searchspace.counter import count
from searchspace.space import sample
from searchspace.spec import ArchSpec
from workers.cluster import ensure_ray
from workers.config import SearchConfig
from workers.ledger import RECORD, Ledger, Stored, open_storage
from workers.results import TrialRecord, best_trial, mnasnet_reward, pareto_front
from workers.trial import MedianReferee, evaluate_trial

log = logging.getLogger(__name__)
MAX_REJECTED_IN_A_ROW = 500
MAX_FAILED_IN_A_ROW = 10
EvaluateFn = Callable[[ArchSpec, SearchConfig, Any], dict[str, Any]]


class SearchCancelled(Exception):
    """Raised inside the loop when the caller's cancel check says stop."""


def _directions(config: SearchConfig) -> list[str]:
    return ["maximize", "minimize"] if config.mode == "pareto" else ["maximize"]


def make_sampler(config: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.sampler == "tpe":
        startup = min(10, max(2, config.n_trials // 4))
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=startup)
    population = max(4, min(50, config.n_trials // 4))
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)


@dataclass
class Pending:
    trial: Trial
    stored: Stored
    spec: ArchSpec
    key: str
    record: dict[str, Any]
    duplicates: list[tuple[Trial, Stored, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class SearchResult:
    study_name: str
    config: SearchConfig
    trials: list[TrialRecord]
    stopped: str

    @property
    def pareto(self) -> list[TrialRecord]:
        return pareto_front(self.trials, self.config.objective)

    @property
    def best(self) -> TrialRecord | None:
        return best_trial(self.trials, self.config)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "study_name": self.study_name,
            "stopped": self.stopped,
            "counts": self.counts(),
            "pareto": [t.to_dict() for t in self.pareto],
            "best": best.to_dict() if best else None,
            "trials": [t.to_dict() for t in self.trials],
            "config": self.config.to_dict(),
        }


def load_result(storage_url: str, study_name: str, config: SearchConfig, stopped: str = "") -> SearchResult:
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    records = [TrialRecord.from_trial(t) for t in study.get_trials(deepcopy=False)]
    return SearchResult(study_name, config, records, stopped)


def trained(trial: FrozenTrial) -> bool:
    """Counts against the trial budget: completed, or pruned after training (not rejected by a limit)."""
    record = trial.user_attrs.get(RECORD, {})
    return trial.state == TrialState.COMPLETE or (trial.state == TrialState.PRUNED and not record.get("rejected"))


class SearchDriver:
    """Runs one search to its trial budget, time budget or cancellation. See the module docstring."""

    def __init__(
        self,
        config: SearchConfig,
        storage_url: str,
        study_name: str,
        evaluate_fn: EvaluateFn = evaluate_trial,
        should_cancel: Callable[[], bool] | None = None,
        on_trial: Callable[[TrialRecord], None] | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.config = config
        self.storage_url = storage_url
        self.study_name = study_name
        self.evaluate_fn = evaluate_fn
        self.should_cancel = should_cancel or (lambda: False)
        self.on_trial = on_trial or (lambda record: None)
        self.poll_s = poll_s

    # --- setup ----------------------------------------------------------------------------------------------

    # --- main loop ------------------------------------------------------------------------------------------

    def run(self) -> SearchResult:
        info = self.config.dataset.validate()
        config = self.config.with_data_shape(info.num_classes, info.in_chans)
        ledger = Ledger(self.storage_url, self.study_name, _directions(config),
                        lambda stored: make_sampler(config, config.seed + stored))  # resumed: fresh draws
        history = ledger.recover()
        done = {t.user_attrs[RECORD]["spec_key"]: (t.number, t.user_attrs[RECORD]) for t in history
                if t.state == TrialState.COMPLETE and "spec_key" in t.user_attrs.get(RECORD, {})}
        finished = sum(trained(t) for t in history)
        ensure_ray(config.n_workers * config.latency.threads)
        import ray

        referee = None
        if config.pruner == "median":
            curves = [record.get("epoch_accuracies", []) for _, record in done.values()]
            actor = ray.remote(num_cpus=0)(MedianReferee)
            referee = actor.remote(config.pruner_warmup_epochs, config.pruner_min_trials, curves)
        remote = ray.remote(num_cpus=config.latency.threads, max_retries=0)(_call)
        inflight: dict[Any, Pending] = {}
        by_key: dict[str, Pending] = {}
        deadline = time.monotonic() + config.timeout_s if config.timeout_s else None
        stopped = "budget"
        rejected_in_a_row = failed_in_a_row = 0
        while True:
            if self.should_cancel():
                stopped = "cancelled"
                break
            if deadline is not None and time.monotonic() > deadline:
                stopped = "timeout"
                break
            pending = sum(1 + len(p.duplicates) for p in inflight.values())
            while len(inflight) < config.n_workers and finished + pending < config.n_trials:
                outcome = self._propose(ledger, config, done, by_key)
                if isinstance(outcome, Pending):
                    ref = remote.remote(self.evaluate_fn, outcome.spec, config, referee)
                    inflight[ref] = outcome
                    by_key[outcome.key] = outcome
                pending += outcome == "duplicate" or isinstance(outcome, Pending)
                finished += outcome == "reused"
                rejected_in_a_row = rejected_in_a_row + 1 if outcome == "rejected" else 0
                if rejected_in_a_row >= MAX_REJECTED_IN_A_ROW:
                    stopped = "limits: no candidate within max_params/max_macs"
                    break
            if not inflight or rejected_in_a_row >= MAX_REJECTED_IN_A_ROW:
                break
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=self.poll_s)
            for ref in ready:
                item = inflight.pop(ref)
                by_key.pop(item.key, None)
                count_done = self._finish(ledger, config, item, ref, done, referee)
                finished += count_done
                failed_in_a_row = 0 if count_done else failed_in_a_row + 1
            if failed_in_a_row >= MAX_FAILED_IN_A_ROW:
                stopped = f"failing: {failed_in_a_row} evaluations in a row failed (see the trials' errors)"
                break
        if inflight:
            self._abandon(ledger, inflight, stopped)
        return load_result(self.storage_url, self.study_name, config, stopped)

    def _propose(self, ledger: Ledger, config: SearchConfig, done: dict[str, tuple[int, dict[str, Any]]],
                 by_key: dict[str, Pending]) -> Pending | str:
        """Ask for one architecture: rejected, reused, attached to an identical running one, or to evaluate."""
        trial = ledger.ask()
        spec = sample(trial, config.space)
        key = spec.to_string()
        cost = count(spec)
        record: dict[str, Any] = {"spec": spec.to_dict(), "spec_key": key, "params": cost.params, "macs": cost.macs}
        stored = ledger.persist(trial, record)
        limit = _limit_exceeded(config, cost.params, cost.macs)
        if limit:
            self._tell(ledger, config, trial, stored, {**record, "rejected": limit}, TrialState.PRUNED)
            return "rejected"
        if key in done:
            number, previous = done[key]
            reused = {**previous, "reused_from": number, "spec": record["spec"]}
            self._tell(ledger, config, trial, stored, reused, TrialState.COMPLETE)
            return "reused"
        if key in by_key:
            by_key[key].duplicates.append((trial, stored, record))
            return "duplicate"
        return Pending(trial, stored, spec, key, record)

    def _finish(self, ledger: Ledger, config: SearchConfig, item: Pending, ref: Any,
                done: dict[str, tuple[int, dict[str, Any]]], referee: Any) -> int:
        """Record one evaluation (and its identical twins); returns how many trials it finished."""
        import ray

        try:
            measured = ray.get(ref)
            state = TrialState.PRUNED if measured.pop("pruned", False) else TrialState.COMPLETE
            record = {**item.record, **measured}
        except ray.exceptions.RayTaskError as err:
            cause = err.cause if err.cause is not None else err
            state, record = TrialState.FAIL, {**item.record, "error": f"{type(cause).__name__}: {cause}"}
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.RayActorError) as err:
            state, record = TrialState.FAIL, {**item.record, "error": f"worker process died: {err}"[:2000]}
        told = self._tell(ledger, config, item.trial, item.stored, record, state)
        if state == TrialState.COMPLETE:
            done[item.key] = (item.stored.number, told)
            if referee is not None:
                referee.add_curve.remote(record.get("epoch_accuracies", []))
        for twin, twin_stored, twin_record in item.duplicates:
            extra = {"reused_from": item.stored.number} if state != TrialState.FAIL else {}
            self._tell(ledger, config, twin, twin_stored, {**record, **extra, "spec": twin_record["spec"]}, state)
        return (1 + len(item.duplicates)) if state != TrialState.FAIL else 0

    def _tell(self, ledger: Ledger, config: SearchConfig, trial: Trial, stored: Stored, record: dict[str, Any],
              state: TrialState) -> dict[str, Any]:
        """Finish a trial in memory and in the storage; returns the record as stored."""
        values = None
        if state == TrialState.COMPLETE:
            values, extra = _objective_values(config, record)
            record = {**record, **extra}
        constraint = None
        cost_key = _cost_key(config)
        if config.mode == "constraint" and record.get(cost_key) is not None:
            record["constraint"] = float(record[cost_key]) - float(config.target or 0.0)
            constraint = (cost_key, record["constraint"])  # feasible when <= 0
        ledger.finish(trial, stored, record, state, values, constraint)
        self.on_trial(TrialRecord.from_record(stored.number, state.name, record))
        return record

    def _abandon(self, ledger: Ledger, inflight: dict[Any, Pending], why: str) -> None:
        """Cancel running evaluations and record them as failed with the reason."""
        import ray

        for ref, item in inflight.items():
            ray.cancel(ref, force=True)
            for trial, stored, record in [(item.trial, item.stored, item.record), *item.duplicates]:
                failed = {**record, "error": f"{why}: stopped before the evaluation ended"}
                ledger.finish(trial, stored, failed, TrialState.FAIL, None)


def _call(evaluate_fn: EvaluateFn, spec: ArchSpec, config: SearchConfig, referee: Any) -> dict[str, Any]:
    """The Ray task: run the evaluation function (shipped as an argument) on one architecture."""
    return evaluate_fn(spec, config, referee)


def _cost_key(config: SearchConfig) -> str:
    return "latency_ms" if config.objective == "latency" else "macs"


def _objective_values(config: SearchConfig, record: dict[str, Any]) -> tuple[list[float], dict[str, Any]]:
    accuracy, cost = float(record["accuracy"]), float(record[_cost_key(config)])
    if config.mode == "pareto":
        return [accuracy, cost], {}
    if config.mode == "reward":
        reward = mnasnet_reward(accuracy, cost, float(config.target or 1.0), config.reward)
        return [reward], {"reward": reward}
    return [accuracy], {}


def _limit_exceeded(config: SearchConfig, params: int, macs: int) -> str:
    if config.max_params is not None and params > config.max_params:
        return f"params {params:,} > max_params {config.max_params:,}"
    if config.max_macs is not None and macs > config.max_macs:
        return f"MACs {macs:,} > max_macs {config.max_macs:,}"
    return ""
