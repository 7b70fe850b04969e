"""Grid search of the compound coefficients (EfficientNet, arXiv:1905.11946 section 3.3, step 1), on the job
engine the architecture search uses (``workers.runtime``: one Ray executor, one Optuna ledger, one outcome type).

Fix phi = 1, enumerate alpha, beta, gamma >= 1 on a grid with alpha * beta^2 * gamma^2 within a tolerance of 2,
derive each point's phi = 1 network with the rounding that keeps its formula ratio (``scaler.rounding``) and keep
those whose *counted* MACs ratio is within ``counted_tolerance`` of 2 (``scaler.grid_config.screen``; the others
are reported as rejected, untrained), train the phi = 1 network of each kept candidate ``seeds``
times (seeds ``seed``, ``seed + 1``, ...) by proxy training on real data (``workers.training.evaluation.evaluate``) in
parallel on Ray, rank the candidates by mean validation accuracy (ties: fewer MACs; ``scaler.grid_results``)
and test the winner against the runner-up paired by seed (``scaler.grid_stats``).

The proxy. Training the phi = 1 EfficientNet-B0 at 224 px is far too slow on a CPU, so each candidate trains
the phi = 1 member of a *proxy base*: the base scaled by ``proxy_width`` and ``proxy_depth`` (default 0.5 and
0.5, the usual scaling rules) at ``resolution`` px (default 32; ``None`` keeps the base's). The candidate's
resolution is ``round(resolution * gamma)`` to the pixel (a multiple-of-8 rounding would merge gamma 1.0 to
1.1 at 32 px). With the defaults (1 epoch, batch 64, all of digits, B0 as base) one run costs about
16 s of CPU time on one thread, imports and data loading included. Each candidate reports the formula ratio
alpha*beta^2*gamma^2, the counted MACs ratio of the base's own phi = 1 network (``scaler.derive``, rounded to
keep the formula's ratio; this is the ratio held to 2), and the proxy network's counted MACs ratio (reported,
not held: at 32 px the stride-32 feature maps round to whole pixels, so B0's proxies count 2.1-7.9 for a
formula ratio of 2). The formula-keeping rounding is not applied to the proxy: at 32 px it would hold the ratio
mostly by leaving the proxy at 32 px (docs/benchmarks.md), and the candidates would no longer differ in
resolution; but at full fidelity with the proxy off (``grid_config.without_proxy``: width and depth 1 at the
base's resolution) each candidate trains the base's own phi = 1 network with that rounding, the network the
family's phi = 1 member will be (``scaler.family_train``). Latency is measured while the other workers train: use ``workers=1`` for latencies worth comparing.

Persistence. Every run (candidate and seed) is one trial of an Optuna study (``workers.runtime.ledger.Ledger``) with
the coefficients and the seed as fixed params, the accuracy as the objective value and everything measured in
the trial's record. The study name derives from the base and the evaluation settings (not the grid's step,
tolerance, size or number of seeds, so a finer grid or more seeds reuse the runs they share), so re-running
the same command resumes: finished runs (complete, or failed by their evaluation) are read back, not redone;
trials left RUNNING by a dead process, cancelled or interrupted are failed and redone (a trial of an older
study without a seed param is the run of the study's ``seed``). One process at a time may run a given grid.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from scaler.grid_config import (
    GRID_PHI,
    Candidate,
    Fidelity,
    GridConfig,
    grid_study_name,
    proxy_base,
    proxy_member,
    screen,
    without_proxy,
)
from scaler.grid_results import CandidateResult, CandidateStatus, GridResult, aggregate, rank
from scaler.scaling import MAX_COEFFICIENT, derive
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.runtime import (
    RECORD,
    EngineLimits,
    Evaluated,
    EvaluateFn,
    Ledger,
    Outcome,
    Proposal,
    RayExecutor,
    Stop,
    StopCheck,
    StopReason,
    Task,
    TrialState,
    checkpoint,
    cluster_cpus,
    open_storage,
    restart_ray,
    run_engine,
    until_available,
    with_restarts,
)
from workers.training import TrainBudget, train_network

_NAMES = ("alpha", "beta", "gamma")
_SEED_RANGE = (0, 2**31 - 1)
Run = tuple[str, int]  # (candidate key, seed)
ProgressFn = Callable[[CandidateResult, int, int], None]


def evaluate_candidate(spec: ArchSpec, data: DatasetConfig, budget: TrainBudget, seed: int,
                       latency: LatencyConfig | None, threads: int) -> dict[str, Any]:
    """Proxy-train ``spec`` (and time it); the measurements a grid records. Runs in a Ray worker."""
    from workers.training import evaluate

    return evaluate(spec, data, budget, seed=seed, latency=latency, threads=threads).measurements()


def _prepare(candidate: Candidate, base: ArchSpec, proxy: ArchSpec, proxy_macs: int,
             own: bool = False) -> tuple[CandidateResult, ArchSpec | None]:
    """The candidate's analytic figures and proxy network (``own``: see ``proxy_member``), or a failed result when
    it gives no valid network."""
    result = CandidateResult(alpha=candidate.alpha, beta=candidate.beta, gamma=candidate.gamma, ratio=candidate.ratio)
    try:
        member = derive(base, candidate.alpha, candidate.beta, candidate.gamma, GRID_PHI)
        result = replace(result, resolution=member.resolution, params=member.count.params, macs=member.count.macs,
                         macs_ratio=member.macs_ratio)
        spec = proxy_member(proxy, candidate, own)
    except SpecError as err:
        return replace(result, status=CandidateStatus.FAILED, error=f"SpecError: {err}"), None
    cost = count(spec)
    return replace(result, proxy_resolution=spec.resolution, proxy_params=cost.params, proxy_macs=cost.macs,
                   proxy_macs_ratio=cost.macs / proxy_macs), spec


def _evaluated(prepared: CandidateResult, evaluated: Evaluated) -> CandidateResult:
    """The candidate with its evaluation's outcome and measurements."""
    if evaluated.outcome is Outcome.FAIL:
        return replace(prepared, status=CandidateStatus.FAILED, error=evaluated.error)
    if "val_accuracy" in evaluated.measured:  # full fidelity (``train_network``): ranked on validation
        full = evaluated.measured
        curve = [max(a for a in (e["val_accuracy"], e.get("ema_val_accuracy")) if a is not None)
                 for e in full.get("epochs", [])]
        return replace(prepared, status=CandidateStatus.COMPLETE, accuracy=full["val_accuracy"],
                       test_accuracy=full["accuracy"], epoch_accuracies=tuple(curve),
                       train_seconds=full.get("train_seconds"), stopped=full.get("stopped"))
    m = evaluated.measurements
    return replace(prepared, status=CandidateStatus.COMPLETE, epoch_accuracies=tuple(m.epoch_accuracies),
                   accuracy=m.accuracy, latency_ms=m.latency_ms, train_seconds=m.train_seconds,
                   eval_seconds=m.eval_seconds, stopped=m.stopped)


def _trial_run(trial: FrozenTrial, default_seed: int) -> Run | None:
    """The (candidate, seed) a trial ran; ``default_seed`` for a trial of an older study without a seed."""
    if not all(n in trial.params for n in _NAMES):
        return None
    return Candidate(*(trial.params[n] for n in _NAMES)).key, int(trial.params.get("seed", default_seed))


def _trial_result(trial: FrozenTrial, default_seed: int) -> CandidateResult | None:
    """The finished run a trial holds (complete, or failed by its evaluation), else None."""
    record = trial.user_attrs.get(RECORD)
    if not isinstance(record, dict) or TrialState.of(trial.state) not in (TrialState.COMPLETE, TrialState.FAIL):
        return None
    if record.get("status") not in (CandidateStatus.COMPLETE, CandidateStatus.FAILED):
        return None
    run = _trial_run(trial, default_seed)
    return CandidateResult.from_record(record, trial=trial.number, seed=default_seed if run is None else run[1])


def _finished(trials: list[FrozenTrial], default_seed: int) -> dict[Run, CandidateResult]:
    """(Candidate key, seed) -> its latest finished run."""
    out: dict[Run, CandidateResult] = {}
    for trial in trials:
        result = _trial_result(trial, default_seed)
        if result is not None:
            out[result.candidate.key, result.seed] = result
    return out


def _results(candidates: list[Candidate], runs: dict[Run, CandidateResult], config: GridConfig,
             running: frozenset[Run] = frozenset()) -> list[CandidateResult]:
    """Each candidate aggregated over its runs, ranked."""
    out = []
    for c in candidates:
        blank = CandidateResult(alpha=c.alpha, beta=c.beta, gamma=c.gamma, ratio=c.ratio)
        mine = {seed: r for (key, seed), r in runs.items() if key == c.key}
        out.append(aggregate(blank, mine, config.run_seeds(), frozenset(s for k, s in running if k == c.key)))
    return rank(out)


class _GridSource:
    """The grid as an engine source: each pending candidate becomes one trial with fixed coefficients."""

    def __init__(self, ledger: Ledger, todo: deque[tuple[Candidate, int]], base: ArchSpec, config: GridConfig,
                 evaluate_fn: EvaluateFn, notify: Callable[[CandidateResult], None], out: Path | None) -> None:
        info = config.dataset.validate()
        self.proxy = proxy_base(base, config, info.num_classes, info.in_chans)
        self.proxy_macs = count(self.proxy).macs
        self.ledger, self.todo, self.base, self.config = ledger, todo, base, config
        self.evaluate_fn, self.notify, self.out = evaluate_fn, notify, out
        self.prepared: dict[str, tuple[CandidateResult, ArchSpec | None]] = {}

    def wants_more(self) -> bool:
        return bool(self.todo)

    def propose(self) -> Task | Proposal:
        candidate, seed = self.todo.popleft()
        if candidate.key not in self.prepared:  # every seed of a candidate trains the same network
            self.prepared[candidate.key] = _prepare(candidate, self.base, self.proxy, self.proxy_macs,
                                                    without_proxy(self.base, self.config))
        prepared, spec = self.prepared[candidate.key]
        # full fidelity: ``train_network``'s product (and checkpoint) in a directory per run
        directory = None if self.out is None else self.out / candidate.key / f"seed{seed}"
        prepared = replace(prepared, seed=seed, directory=None if directory is None else str(directory))
        self.ledger.memory.enqueue_trial({**candidate.params(), "seed": seed})
        trial = self.ledger.ask()
        for name in _NAMES:
            trial.suggest_float(name, 1.0, MAX_COEFFICIENT)
        trial.suggest_int("seed", *_SEED_RANGE)
        stored = self.ledger.persist(trial, {"spec_key": spec.to_string() if spec else candidate.key})
        item = (trial, stored, prepared)
        if spec is None:
            self._tell(item, prepared)
            return Proposal.INVALID
        config = self.config
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            return Task(self.evaluate_fn, (spec.to_string(), config.dataset, config.run_recipe(spec, seed),
                                           str(directory), config.threads), item)
        return Task(self.evaluate_fn, (spec, config.dataset, config.budget, seed, config.latency, config.threads),
                    item)

    def finished(self, task: Task, evaluated: Evaluated) -> None:
        self._tell(task.item, _evaluated(task.item[2], evaluated))

    def abandoned(self, task: Task, stop: Stop) -> None:
        """Stopped before it ended: failed in the study, but its record stays pending, so it is redone."""
        trial, stored, prepared = task.item
        record = {**prepared.to_record(), "error": f"{stop}: stopped before the evaluation ended"}
        self.ledger.finish(trial, stored, record, TrialState.FAIL, None)

    def _tell(self, item: tuple[Any, Any, CandidateResult], result: CandidateResult) -> None:
        trial, stored, _ = item
        complete = result.status is CandidateStatus.COMPLETE
        state = TrialState.COMPLETE if complete else TrialState.FAIL
        self.ledger.finish(trial, stored, result.to_record(), state, [float(result.accuracy)] if complete else None)
        self.notify(replace(result, trial=stored.number))


def _open_ledger(storage_url: str, study_name: str, base: ArchSpec, config: GridConfig) -> Ledger:
    ledger = Ledger(storage_url, study_name, ["maximize"], lambda _: optuna.samplers.RandomSampler(seed=config.seed),
                    metric_names=["accuracy"])
    attrs = ledger.storage.get_study_user_attrs(ledger.study_id)
    settings = {"config": config.to_dict()} if "base" in attrs else {
        "kind": "scaler-grid", "base": base.to_dict(), "evaluation": config.evaluation_settings(),
        "config": config.to_dict()}
    for key, value in settings.items():
        ledger.storage.set_study_user_attr(ledger.study_id, key, value)
    return ledger


def run_grid(
    base: ArchSpec,
    config: GridConfig,
    storage_url: str,
    *,
    study_name: str | None = None,
    should_stop: StopCheck | None = None,
    on_candidate: ProgressFn | None = None,
    evaluate_fn: EvaluateFn | None = None,
    poll_s: float = 0.5,
    out: str | os.PathLike[str] | None = None,
) -> GridResult:
    """Evaluate every candidate of ``config``'s grid not finished in the study yet; the ranked result.

    ``should_stop()`` is polled about every ``poll_s`` seconds: when it returns a reason, running evaluations
    are cancelled (they stay pending and are redone by the next run) and the result's ``stopped`` says why.
    ``on_candidate(result, done, total)`` is called as each candidate finishes in this call; ``done`` counts
    candidates finished by earlier runs too. ``evaluate_fn(spec, data, budget, seed, latency, threads) -> dict``
    runs in a Ray worker (default ``evaluate_candidate``); an exception it raises, or the death of its worker,
    fails that candidate with the error and the grid goes on. At full fidelity (``config.fidelity``) each run
    trains with the recipe into ``out/<candidate>/seed<seed>/`` (required), resuming its checkpoint there, and
    ``evaluate_fn`` takes ``workers.training.train_network``'s arguments (its default). Raises SpecError /
    DatasetError for bad input.
    """
    if not isinstance(base, ArchSpec):
        raise SpecError("base", f"must be an ArchSpec, got {type(base).__name__}")
    full = config.fidelity is Fidelity.FULL
    if full and out is None:
        raise SpecError("out", "a full-fidelity grid needs an output directory for the networks it trains")
    directory = Path(out) if full and out is not None else None
    if evaluate_fn is None:
        evaluate_fn = train_network if full else evaluate_candidate
    candidates, rejected = screen(base, config)
    name = study_name or grid_study_name(base, config)
    results: dict[Run, CandidateResult] = {}
    total = len(candidates) * config.seeds

    def finished(result: CandidateResult) -> None:
        results[result.candidate.key, result.seed] = result
        if on_candidate is not None:
            on_candidate(result, len(results), total)

    def attempt() -> Stop:  # resumes the study: run again as a whole after Ray was restarted
        ledger = _open_ledger(storage_url, name, base, config)
        previous = _finished(ledger.recover(requeue=False), config.seed)
        todo: deque[tuple[Candidate, int]] = deque()
        for candidate in candidates:
            for seed in config.run_seeds():
                old = previous.get((candidate.key, seed))
                if old is not None and (old.status is CandidateStatus.COMPLETE or not config.retry_failed):
                    results.setdefault((candidate.key, seed), replace(old, reused=True))
                else:
                    todo.append((candidate, seed))
        source = _GridSource(ledger, todo, base, config, evaluate_fn, finished, directory)
        if not todo:
            return Stop(StopReason.BUDGET)
        budget = replace(config.budget, device=config.recipe.device) if full else config.budget
        executor = RayExecutor(config.threads, config.workers * config.threads, budget=budget,
                               latency_device=config.latency.device if config.latency else "cpu",
                               dataset=config.dataset)
        if config.threads > cluster_cpus():
            raise SpecError("threads", f"{config.threads} threads per candidate, but Ray has {cluster_cpus()} CPUs")
        return run_engine(source, executor, EngineLimits(slots=config.workers, poll_s=poll_s), should_stop)

    stop = with_restarts(attempt, restart_ray)
    until_available(lambda: checkpoint(storage_url), what="checkpoint the database")
    return GridResult(study_name=name, base_name=base.name, config=config, stopped=stop, rejected=rejected,
                      candidates=_results(candidates, results, config))


def load_grid(storage_url: str, study_name: str) -> GridResult:
    """A grid search's current state read back from the database (for a job's status)."""
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    attrs = study.user_attrs
    config = GridConfig.from_dict(attrs.get("config", {}))
    base = ArchSpec.from_dict(attrs["base"])
    candidates, rejected = screen(base, config)
    trials = study.get_trials(deepcopy=False)
    running = frozenset(run for t in trials if TrialState.of(t.state) is TrialState.RUNNING
                        and (run := _trial_run(t, config.seed)) is not None)
    return GridResult(study_name=study_name, base_name=base.name, config=config, rejected=rejected,
                      candidates=_results(candidates, _finished(trials, config.seed), config, running))
