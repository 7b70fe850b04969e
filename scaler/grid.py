"""Grid search of the compound coefficients (EfficientNet, arXiv:1905.11946 section 3.3, step 1).

Fix phi = 1, enumerate alpha, beta, gamma >= 1 on a grid with alpha * beta^2 * gamma^2 within a tolerance of 2,
train the phi = 1 network of each candidate by proxy training on real data (``workers.evaluation.evaluate``)
in parallel on Ray, and rank the candidates by validation accuracy (ties: fewer MACs).

The proxy. Training the phi = 1 EfficientNet-B0 at 224 px is far too slow on a CPU, so each candidate trains
the phi = 1 member of a *proxy base*: the base scaled by ``proxy_width`` and ``proxy_depth`` (default 0.5 and
0.5, the usual scaling rules) at ``resolution`` px (default 32; ``None`` keeps the base's). The candidate's
resolution is ``round(resolution * gamma)`` to the pixel (a multiple-of-8 rounding would merge gamma 1.0 to
1.1 at 32 px). With the defaults (1 epoch, batch 64, all of digits, B0 as base) one candidate costs about
16 s of CPU time on one thread, imports and data loading included, so a two-candidate grid on 2 idle CPUs
ends in about half a minute, Ray's start included (``--epochs``, ``--subset``, ``--resolution`` and the proxy
multipliers trade time for fidelity). Each candidate reports the formula ratio alpha*beta^2*gamma^2, the
counted MACs ratio of the base's own phi = 1 network (``scaler.derive``: rounding, ceil'd repeats and the
head make it differ from the formula), and the proxy network's counted MACs ratio, which at a few pixels
shows how far ceil'd feature maps take the proxy from the formula. Latency is measured while the other
workers train: use ``workers=1`` for latencies worth comparing.

Persistence. Every candidate is one trial of an Optuna study in the service database (``open_storage``),
with the coefficients as fixed params (``enqueue_trial`` + ``ask``), the accuracy as the objective value and
everything measured in the user attr ``grid``. The study name derives from the base and the evaluation
settings (not the grid's step, tolerance or size, so a finer grid reuses the candidates it shares with a
coarser one), so re-running the same command resumes: finished candidates (complete, or failed by their
evaluation) are read back, not redone; trials left RUNNING by a dead process are failed and redone. One
process at a time may run a given grid.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from scaler.grid_config import GRID_PHI, Candidate, GridConfig, grid_study_name, proxy_base, proxy_member
from scaler.scaling import MAX_COEFFICIENT, derive
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig
from workers.evaluation import LatencyConfig
from workers.training import TrainBudget

RECORD = "grid"  # the trial user attr holding a candidate's measurements
_NAMES = ("alpha", "beta", "gamma")

EvaluateFn = Callable[..., dict[str, Any]]
ProgressFn = Callable[["CandidateResult", int, int], None]


# --- results ------------------------------------------------------------------------------------------------


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
    status: str = "pending"
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
    seconds: float | None = None
    stopped: str = ""
    trial: int | None = None
    reused: bool = False
    rank: int | None = None

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
        return r.status == "complete" and r.accuracy is not None

    indexed = list(enumerate(results))
    best = sorted(
        (ir for ir in indexed if done(ir[1])),
        key=lambda ir: (-ir[1].accuracy, ir[1].macs if ir[1].macs is not None else math.inf, ir[0]),
    )
    rest = sorted((ir for ir in indexed if not done(ir[1])), key=lambda ir: (ir[1].status != "failed", ir[0]))
    return [replace(r, rank=i + 1) for i, (_, r) in enumerate(best)] + [replace(r, rank=None) for _, r in rest]


@dataclass(frozen=True, kw_only=True)
class GridResult:
    """The ranked candidates of one grid search and the chosen coefficients (None if nothing completed).

    ``stopped`` is ``""`` when every candidate finished, ``"cancelled"`` when the cancel check stopped it.
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
            out[r.status] = out.get(r.status, 0) + 1
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


# --- evaluation (runs in a Ray worker) ----------------------------------------------------------------------


def evaluate_candidate(
    spec: ArchSpec, data: DatasetConfig, budget: TrainBudget, seed: int, latency: LatencyConfig | None,
    threads: int,
) -> dict[str, Any]:
    """Proxy-train ``spec`` (and time it); the JSON-ready measurements a grid records."""
    from workers.evaluation import evaluate

    result = evaluate(spec, data, budget, seed=seed, latency=latency, threads=threads)
    return {
        "accuracy": result.accuracy,
        "epoch_accuracies": list(result.train.epoch_accuracies),
        "latency_ms": result.latency_ms,
        "train_seconds": result.train.train_seconds,
        "seconds": result.durations.total,
        "stopped": result.train.stopped,
    }


# --- the search ---------------------------------------------------------------------------------------------


def _prepare(candidate: Candidate, base: ArchSpec, proxy: ArchSpec, proxy_macs: int) -> tuple[CandidateResult, ArchSpec | None]:
    """The candidate's analytic figures and proxy network, or a failed result when it gives no valid network."""
    result = CandidateResult(alpha=candidate.alpha, beta=candidate.beta, gamma=candidate.gamma, ratio=candidate.ratio)
    try:
        member = derive(base, candidate.alpha, candidate.beta, candidate.gamma, GRID_PHI)
        result = replace(result, resolution=member.resolution, params=member.count.params, macs=member.count.macs,
                         macs_ratio=member.macs_ratio)
        spec = proxy_member(proxy, candidate)
    except SpecError as err:
        return replace(result, status="failed", error=f"SpecError: {err}"), None
    cost = count(spec)
    return replace(result, proxy_resolution=spec.resolution, proxy_params=cost.params, proxy_macs=cost.macs,
                   proxy_macs_ratio=cost.macs / proxy_macs), spec


def _open_study(storage_url: str, study_name: str, base: ArchSpec, config: GridConfig) -> optuna.Study:
    from workers.ledger import open_storage

    study = optuna.create_study(storage=open_storage(storage_url), study_name=study_name, direction="maximize",
                                load_if_exists=True, sampler=optuna.samplers.RandomSampler(seed=config.seed))
    if "base" not in study.user_attrs:
        study.set_user_attr("kind", "scaler-grid")
        study.set_user_attr("base", base.to_dict())
        study.set_user_attr("evaluation", config.evaluation_settings())
    study.set_user_attr("config", config.to_dict())
    return study


def _trial_result(trial: FrozenTrial) -> CandidateResult | None:
    """The finished candidate a trial holds (complete, or failed by its evaluation), else None."""
    record = trial.user_attrs.get(RECORD)
    if not isinstance(record, dict) or trial.state not in (TrialState.COMPLETE, TrialState.FAIL):
        return None
    if record.get("status") not in ("complete", "failed") or not all(n in trial.params for n in _NAMES):
        return None
    return CandidateResult.from_record(record, trial=trial.number)


def _finished(study: optuna.Study) -> dict[str, CandidateResult]:
    """Candidate key -> its latest finished result in the study."""
    out: dict[str, CandidateResult] = {}
    for trial in study.get_trials(deepcopy=False):
        result = _trial_result(trial)
        if result is not None:
            out[result.candidate.key] = result
    return out


def _recover(study: optuna.Study) -> None:
    """Fail trials a dead process left RUNNING (their record stays 'running': redone) and drop stale queue entries."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
    for _ in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        study.tell(study.ask(), state=TrialState.FAIL)


def _ask(study: optuna.Study, result: CandidateResult) -> Trial:
    """A new trial with the candidate's coefficients as fixed params, marked running."""
    candidate = result.candidate
    study.enqueue_trial(candidate.params(), user_attrs={RECORD: {**result.to_record(), "status": "running"}})
    trial = study.ask()
    values = {n: trial.suggest_float(n, 1.0, MAX_COEFFICIENT) for n in _NAMES}
    if values != candidate.params():
        raise RuntimeError(f"trial {trial.number} got {values}, not {candidate.params()}: another process runs "
                           "this grid")
    return trial


def _tell(study: optuna.Study, trial: Trial, result: CandidateResult) -> CandidateResult:
    trial.set_user_attr(RECORD, result.to_record())
    if result.status == "complete":
        study.tell(trial, values=[float(result.accuracy)])
    else:
        study.tell(trial, state=TrialState.FAIL)
    return replace(result, trial=trial.number)


def run_grid(
    base: ArchSpec,
    config: GridConfig,
    storage_url: str,
    *,
    study_name: str | None = None,
    should_cancel: Callable[[], bool] | None = None,
    on_candidate: ProgressFn | None = None,
    evaluate_fn: EvaluateFn = evaluate_candidate,
    poll_s: float = 0.5,
) -> GridResult:
    """Evaluate every candidate of ``config``'s grid not finished in the study yet; the ranked result.

    ``should_cancel()`` is polled about every ``poll_s`` seconds: when it returns True, running evaluations are
    cancelled (they stay pending and are redone by the next run) and the result says ``stopped='cancelled'``.
    ``on_candidate(result, done, total)`` is called as each candidate finishes in this call; ``done`` counts
    candidates finished by earlier runs too. ``evaluate_fn(spec, data, budget, seed, latency, threads) -> dict``
    runs in a Ray worker (default ``evaluate_candidate``); an exception it raises, or the death of its worker,
    fails that candidate with the error and the grid goes on. Raises SpecError / DatasetError for bad input.
    """
    if not isinstance(base, ArchSpec):
        raise SpecError("base", f"must be an ArchSpec, got {type(base).__name__}")
    candidates = config.candidates()
    info = config.dataset.validate()
    proxy = proxy_base(base, config, info.num_classes, info.in_chans)
    proxy_macs = count(proxy).macs
    name = study_name or grid_study_name(base, config)
    study = _open_study(storage_url, name, base, config)
    _recover(study)
    previous = _finished(study)
    results: dict[str, CandidateResult] = {}
    todo: deque[Candidate] = deque()
    for candidate in candidates:
        old = previous.get(candidate.key)
        if old is not None and (old.status == "complete" or not config.retry_failed):
            results[candidate.key] = replace(old, reused=True)
        else:
            todo.append(candidate)

    total, stopped = len(candidates), ""
    cancel = should_cancel or (lambda: False)
    notify = on_candidate or (lambda result, done, total: None)

    def finish(trial: Trial, result: CandidateResult) -> None:
        results[result.candidate.key] = _tell(study, trial, result)
        notify(results[result.candidate.key], len(results), total)

    if todo:
        import ray

        from workers.cluster import cluster_cpus, ensure_ray

        ensure_ray(config.workers * config.threads)
        if config.threads > cluster_cpus():
            raise SpecError("threads", f"{config.threads} threads per candidate, but Ray has {cluster_cpus()} CPUs")
        remote = ray.remote(num_cpus=config.threads, max_retries=0)(evaluate_fn)
        inflight: dict[Any, tuple[Trial, CandidateResult]] = {}
        try:
            while todo or inflight:
                if cancel():
                    stopped = "cancelled"
                    break
                while todo and len(inflight) < config.workers:
                    prepared, spec = _prepare(todo.popleft(), base, proxy, proxy_macs)
                    trial = _ask(study, prepared)
                    if spec is None:
                        finish(trial, prepared)
                        continue
                    ref = remote.remote(spec, config.dataset, config.budget, config.seed, config.latency,
                                        config.threads)
                    inflight[ref] = (trial, prepared)
                if not inflight:
                    continue
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=poll_s)
                for ref in ready:
                    trial, prepared = inflight.pop(ref)
                    finish(trial, _outcome(ref, prepared))
        finally:
            for ref, (trial, _) in inflight.items():
                ray.cancel(ref, force=True)
                study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)  # record stays 'running'

    ordered = [results.get(c.key) or CandidateResult(alpha=c.alpha, beta=c.beta, gamma=c.gamma, ratio=c.ratio)
               for c in candidates]
    return GridResult(study_name=name, base_name=base.name, config=config, candidates=rank(ordered),
                      stopped=stopped)


def _outcome(ref: Any, prepared: CandidateResult) -> CandidateResult:
    """The finished evaluation's result, or the candidate failed with the task's error or the worker's death."""
    import ray

    try:
        measured = ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = err.cause if err.cause is not None else err
        return replace(prepared, status="failed", error=f"{type(cause).__name__}: {cause}"[:2000])
    except ray.exceptions.RayError as err:  # the worker died (crash, out of memory, node lost)
        return replace(prepared, status="failed", error=f"worker died: {type(err).__name__}: {err}"[:2000])
    fields = {k: measured[k] for k in ("accuracy", "latency_ms", "train_seconds", "seconds", "stopped")
              if k in measured}
    if not isinstance(fields.get("accuracy"), int | float):
        return replace(prepared, status="failed", error=f"the evaluation returned no accuracy: {measured!r:.200}")
    return replace(prepared, status="complete", epoch_accuracies=tuple(measured.get("epoch_accuracies") or ()),
                   **fields)


def load_grid(storage_url: str, study_name: str) -> GridResult:
    """A grid search's current state read back from the database (for a job's status)."""
    from workers.ledger import open_storage

    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    attrs = study.user_attrs
    config = GridConfig.from_dict(attrs.get("config", {}))
    base_name = str(attrs.get("base", {}).get("name", ""))
    previous = _finished(study)
    running = {
        Candidate(*(t.params[n] for n in _NAMES)).key
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if all(n in t.params for n in _NAMES)
    }
    ordered = []
    for c in config.candidates():
        result = previous.get(c.key) or CandidateResult(alpha=c.alpha, beta=c.beta, gamma=c.gamma, ratio=c.ratio)
        ordered.append(replace(result, status="running") if c.key in running and c.key not in previous else result)
    return GridResult(study_name=study_name, base_name=base_name, config=config, candidates=rank(ordered))
