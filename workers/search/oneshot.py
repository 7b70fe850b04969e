"""The one-shot strategy (Once-for-All, BigNAS): train the search space's weight-sharing supernet once, then judge
every candidate the sampler proposes with the weights it inherits (batch norm re-estimated on training images,
then validated), about a second each on a CPU instead of a proxy training.

Training is the search's first phase: a Ray task (or Ray Train's DDP workers, ``supernet.ddp_workers``) trains
by the sandwich rule (``workers.oneshot``), checkpointing to ``<checkpoint_dir>/<study>.supernet.pt`` so that an
interrupted search resumes its training where it was; its progress (steps, per-epoch loss and accuracy curves)
goes to ``on_phase`` as it trains. A stop (cancel, interrupt, the search's time) stops the training at its next
step. The trained weights go once into Ray's object store; each worker fetches them the first time it judges
and keeps the supernet (and the data) for the candidates after. Latency is predicted from the search's device
profile (by the driver), measured on the inherited network (objective latency without a profile), or not asked
for (objective macs: MACs are counted from the spec). The training's CPU time counts against ``cpu_budget_s``.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import time
from pathlib import Path
from typing import Any

from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from workers.latency import cpu_lock
from workers.oneshot import (
    OneShotConfig,
    SupernetPhase,
    SupernetResult,
    Trained,
    calibration_images,
    judged_model,
)
from workers.runtime import EvaluateFn, Stop, StopReason, cluster_cpus
from workers.search.config import SearchConfig
from workers.search.strategy import Start
from workers.search.trial import Ticket
from workers.training import Measurements, Stopped, measured, with_latency

log = logging.getLogger(__name__)
CHECKPOINT_SUFFIX = ".supernet.pt"
UNSHARED_KINDS = ("micro",)  # block kinds whose sub-networks do not share the supernet's weights (measured)
REPORT_EVERY_S = 2.0  # progress between epochs is reported at most this often
STOP_GRACE_S = 300.0  # how long a stopped training may take to checkpoint and return before it is cancelled


class SupernetState(enum.StrEnum):
    """Where a one-shot search's supernet stands (its ``phase`` progress)."""

    TRAINING = "training"
    TRAINED = "trained"
    STOPPED = "stopped"


def supernet_config(config: SearchConfig) -> OneShotConfig:
    """The supernet training of a one-shot search: its data, space, seed and ``supernet`` settings."""
    return OneShotConfig(dataset=config.dataset, space=config.space, training=config.supernet, seed=config.seed)


def supernet_checkpoint(checkpoint_dir: Path | None, study_name: str) -> Path | None:
    """Where the one-shot search ``study_name`` keeps its supernet's checkpoint under ``checkpoint_dir``."""
    return None if checkpoint_dir is None else checkpoint_dir / f"{study_name}{CHECKPOINT_SUFFIX}"


def progress(state: SupernetState, reading: dict[str, Any], result: SupernetResult | None) -> dict[str, Any]:
    """The supernet's progress as the search reports it: state, steps and the per-epoch curves so far."""
    done = result.to_dict() if result is not None else reading.get("result") or {}
    curves = {k: v for k, v in done.items() if k != "steps"}
    step = done.get("steps", 0) if result is not None else reading.get("step", 0)
    return {**curves, "state": state.value, "step": step, "steps": reading.get("steps", 0)}


def _threads(config: SearchConfig) -> int:
    """CPUs of each training process: the search's (``n_workers`` x ``latency.threads``) in one process, or
    ``latency.threads`` per DDP worker."""
    return config.latency.threads if config.supernet.ddp_workers else config.n_workers * config.latency.threads


def _check_fits(config: SearchConfig) -> None:
    workers = config.supernet.ddp_workers
    cpus, have = workers * config.latency.threads, cluster_cpus()
    if workers and cpus > have:
        raise SpecError("supernet.ddp_workers", f"{workers} workers x {config.latency.threads} thread(s) need "
                                                f"{cpus} CPUs; the Ray cluster has {have}")


def start_oneshot(start: Start) -> OneShot | Stop:
    """Train (or resume, or find trained) the supernet; the judge, or the Stop that ended the training."""
    config, began = start.config, time.monotonic()
    _check_fits(config)
    unshared = sorted({k for stage in config.space.stages for k in stage.kinds} & set(UNSHARED_KINDS))
    if unshared:
        log.warning("one-shot search %s: its space holds %s blocks, whose weights the supernet does not share "
                    "across sub-networks (their inherited accuracies are near chance); restrict the space's kinds "
                    "to mbconv for a ranking that means something", start.study_name, " and ".join(unshared))
    gpus = 1.0 if config.supernet.budget.device == "cuda" else 0.0
    phase = SupernetPhase(supernet_config(config), supernet_checkpoint(start.checkpoint_dir, start.study_name),
                          _threads(config), gpus)
    try:
        trained = _follow(phase, start)
    finally:
        phase.close()
    if isinstance(trained, Stop):
        return trained
    if trained.result.stopped == Stopped.DIVERGED:
        return Stop(StopReason.FAILING, "the supernet's training diverged (its loss is not finite): lower "
                                        "supernet.budget.lr")
    return OneShot(config, trained, time.monotonic() - began)


def _follow(phase: SupernetPhase, start: Start) -> Trained | Stop:
    """Poll the training to its end, reporting its progress; on a stop, ask it to stop and wait for it."""
    stop: Stop | None = None
    asked_at = reported_at = 0.0
    step, epochs = -1, 0
    while True:
        reading, trained = phase.poll(start.poll_s)
        now = time.monotonic()
        if trained is not None:
            state = SupernetState.STOPPED if stop is not None else SupernetState.TRAINED
            start.on_phase(progress(state, reading, trained.result))
            return stop or trained
        done = len((reading.get("result") or {}).get("epoch_losses", []))
        if done != epochs or (reading["step"] != step and now - reported_at >= REPORT_EVERY_S):
            start.on_phase(progress(SupernetState.TRAINING, reading, None))
            step, epochs, reported_at = reading["step"], done, now
        if stop is None:
            reason = start.should_stop()
            if reason is None and start.deadline is not None and now > start.deadline:
                stop = Stop(StopReason.TIMEOUT, "the time budget ran out while the supernet trained")
            elif reason is not None:
                stop = Stop(reason)
            if stop is not None:
                phase.stop()
                asked_at = now
        elif now - asked_at > STOP_GRACE_S:
            return stop


class OneShot:
    """Candidates judged with the trained supernet's weights (see the module docstring); the first is the
    sandwich rule's smallest sub-network, the cheap end of the space, which the supernet trained directly and
    sampling almost never reaches. (Not the largest: its inherited accuracy, trained every step too, outranks
    the sub-networks near it that the supernet trains seldom, and it fine-tunes worse than they do.)"""

    prunes = False

    def __init__(self, config: SearchConfig, trained: Trained, phase_s: float) -> None:
        self.config, self.phase_s = config, phase_s
        from searchspace.supernet import extreme_subnet

        self.first = (extreme_subnet(config.space, False, random.Random(config.seed)),)
        self.cpu_seconds = trained.result.cpu_seconds
        self.result = trained.result
        self.weights = [trained.weights]  # in a list: Ray hands the reference over unresolved

    def task(self, spec: ArchSpec, ticket: Ticket | None) -> tuple[EvaluateFn, tuple[Any, ...]]:
        return judge_candidate, (spec, self.config, self.weights)

    def close(self) -> None:
        self.weights = []


# per worker process: the supernet of the weights it judged with last, and the data at each resolution
_HELD: dict[str, tuple[Any, dict[int, tuple[Any, Any]]]] = {}


def _supernet(config: SearchConfig, weights: list[Any]) -> tuple[Any, dict[int, tuple[Any, Any]]]:
    """This worker's supernet holding ``weights`` (built and loaded once per worker and weights)."""
    import ray

    from searchspace.supernet import Supernet

    key = weights[0].hex()
    if key not in _HELD:
        _HELD.clear()
        net = Supernet(config.space)
        net.load_state_dict(ray.get(weights[0]))
        _HELD[key] = (net.eval(), {})
    return _HELD[key]


def judge_candidate(spec: ArchSpec, config: SearchConfig, weights: list[Any]) -> dict[str, Any]:
    """Validation accuracy of ``spec`` with the supernet's weights (and its latency when the search measures
    it); the JSON-ready measurements the driver records. Runs in a Ray worker."""
    import torch

    torch.set_num_threads(config.latency.threads)
    net, splits = _supernet(config, weights)
    budget = config.supernet.budget
    if spec.resolution not in splits:
        data = config.dataset.load(spec.resolution, spec.in_chans)
        splits[spec.resolution] = data, calibration_images(data, budget.bn_calibration, config.seed)
    data, calibration = splits[spec.resolution]
    began = time.perf_counter()
    with cpu_lock.training():
        model, accuracy = judged_model(net, spec, data, calibration, budget.batch_size, budget.eval_batch_size)
    result = Measurements(accuracy=accuracy, eval_seconds=time.perf_counter() - began)
    latency = config.latency
    if config.times_latency and latency.profile_id is None:
        with cpu_lock.measuring() if latency.exclusive else contextlib.nullcontext():
            result = with_latency(result, measured(spec, model, latency))
    return result.to_dict()
