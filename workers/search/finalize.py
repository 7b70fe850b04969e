"""Finalize a search: train its top-k architectures and its baselines at full fidelity (the recipe) on Ray
workers as the search's task trains them (``workers.search.task``: a detection search's by the detection fit,
reporting test mAP), write each one's product (weights, exports, curves), and judge the proxy against what full training
found (``workers.search.finalize_report``).

The networks are the search's best by its mode (``choose``) and, with ``baselines``, its fitted baselines, each
trained once in ``OUT/networks/<name>/`` with a checkpoint every epoch. A finalize that is killed resumes where
it was: a network whose ``result.json`` exists is not trained again, and one that was running resumes from its
last epoch's checkpoint. ``OUT/finalize.json`` records which search and which config the directory belongs to.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from searchspace.checks import check_bool, check_float, check_int
from searchspace.codec import from_dict
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from workers.data import DatasetConfig
from workers.detection import BoxDatasetConfig
from workers.runtime import (
    Evaluated,
    EvaluateFn,
    RayExecutor,
    Stop,
    StopCheck,
    Task,
    TrialState,
    restart_ray,
    run_batch,
    with_restarts,
)
from workers.search.config import SearchConfig, Strategy
from workers.search.finalize_report import Candidate, FinalizeReport, NetworkKind, NetworkResult, build_report
from workers.search.inherit import train_inherited
from workers.search.results import hypervolume_subset
from workers.search.search_result import SearchResult, load_result, stored_config
from workers.search.task import TASKS
from workers.training import TrainBudget, TrainRecipe, train_network, write_json

log = logging.getLogger(__name__)
MANIFEST = "finalize.json"
REFERENCE_MARGIN = 1.1  # the front is chosen from by hypervolume up to this times its costliest member
RESULT = "result.json"


class FinalizeMismatch(ValueError):
    """The output directory holds another search's finalize, or one with another config."""


@dataclass(frozen=True, kw_only=True)
class FinalizeConfig:
    """How a search is finalized: which networks, the full-fidelity recipe, and the Ray workers that train them."""

    top_k: int = field(default=5, metadata=doc(
        "architectures of the search trained at full fidelity: its front (pareto mode; when it has more, the "
        "top_k whose accuracy against the search's cost dominates the most hypervolume up to 1.1 x its costliest "
        "member, chosen greedily), then its next most accurate; the top by reward or feasible accuracy in other "
        "modes"))
    baselines: bool = field(default=True, metadata=doc("also train the search's baselines (as it fitted them)"))
    inherit: bool = field(default=True, metadata=doc(
        "a one-shot search's trials start from the weights they inherit from its trained supernet and are "
        "fine-tuned by the recipe (Once-for-All), instead of trained from scratch; baselines, multi-trial searches "
        "and a search whose supernet is gone start from scratch"))
    recipe: TrainRecipe = field(default_factory=TrainRecipe, metadata=doc("the full-fidelity training recipe"))
    subset: float = field(default=1.0, metadata=doc(
        "fraction of every class of the data kept for full-fidelity training (the test split is always whole)"))
    workers: int = field(default=2, metadata=doc("networks trained in parallel on Ray"))
    threads: int = field(default=1, metadata=doc("torch threads (and Ray CPUs) per network"))

    def __post_init__(self) -> None:
        check_int("top_k", self.top_k, 1, 100)
        check_bool("baselines", self.baselines)
        check_bool("inherit", self.inherit)
        if not isinstance(self.recipe, TrainRecipe):
            raise SpecError("recipe", "must be a TrainRecipe")
        object.__setattr__(self, "subset", float(check_float("subset", self.subset, 1e-4, 1.0)))
        check_int("workers", self.workers, 1, 256)
        check_int("threads", self.threads, 1, 256)

    def to_dict(self) -> dict[str, Any]:
        return {**as_dict(self), "recipe": self.recipe.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> FinalizeConfig:
        """From JSON data; unknown keys and bad values are SpecErrors naming the field path."""
        if not isinstance(data, dict):
            raise SpecError("finalize", "must be a JSON object")
        fields = dict(data)
        if "recipe" in fields:
            fields["recipe"] = from_dict(TrainRecipe, fields["recipe"], "recipe")
        return from_dict(cls, fields)


def choose(result: SearchResult, top_k: int) -> list[Candidate]:
    """The search's ``top_k`` architectures by its mode (see ``FinalizeConfig.top_k``), distinct ones only."""
    config = result.config
    done = [t for t in result.trials if t.state is TrialState.COMPLETE and t.accuracy is not None and t.spec_key
            and t.reused_from is None]
    if config.mode == "reward":
        ranked = sorted(done, key=lambda t: (-(t.reward or 0.0), t.number))
    elif config.mode == "constraint":
        limit = config.target or float("inf")
        ranked = sorted(done, key=lambda t: ((t.metric(config.objective) or float("inf")) > limit, -t.accuracy,
                                             t.number))
    else:
        front = result.pareto
        if len(front) > top_k:  # the top_k dominating the most of the front's hypervolume, by increasing cost
            points = [(t.accuracy, float(t.metric(config.objective))) for t in front]
            picked = hypervolume_subset(points, top_k, REFERENCE_MARGIN * max(cost for _, cost in points))
            front = [front[i] for i in sorted(picked)]
        ranked = front + sorted(done, key=lambda t: (-t.accuracy, t.number))
    chosen: dict[str, Candidate] = {}
    for t in ranked:
        if len(chosen) == top_k:
            break
        if t.spec_key not in chosen:
            chosen[t.spec_key] = Candidate(
                name=f"trial-{t.number}", kind=NetworkKind.TRIAL, trial=t.number, spec_key=t.spec_key,
                proxy_accuracy=t.accuracy, latency_ms=t.latency_ms, latency_source=t.latency_source, macs=t.macs,
                params=t.params)
    return list(chosen.values())


def baseline_candidates(result: SearchResult) -> list[Candidate]:
    """The search's baselines that it trained (their fitted specs and proxy figures)."""
    return [Candidate(name=f"baseline-{b.name}", kind=NetworkKind.BASELINE, trial=None, spec_key=b.spec_key,
                      proxy_accuracy=b.accuracy, latency_ms=b.latency_ms, latency_source=b.latency_source,
                      macs=b.macs, params=b.params)
            for b in result.baselines if b.state is TrialState.COMPLETE and b.spec_key and b.accuracy is not None]


def finalize(storage_url: str, study_name: str, config: FinalizeConfig, out: str | os.PathLike[str],
             search: SearchConfig | None = None, should_stop: StopCheck | None = None,
             on_network: Callable[[NetworkResult], None] | None = None,
             supernet: str | os.PathLike[str] | None = None) -> FinalizeReport:
    """Finalize search ``study_name`` into ``out`` (see the module docstring). ``search`` is the search's config
    when its study does not hold it (a search run before searches stored theirs); ``supernet``: the trained
    supernet's checkpoint of a one-shot search, which its trials inherit from (``FinalizeConfig.inherit``).
    SpecError when the study is missing or has nothing trained; FinalizeMismatch when ``out`` belongs to another
    finalize."""
    if search is None:
        try:
            search = stored_config(storage_url, study_name)
        except KeyError:
            raise SpecError("study", f"no search {study_name!r} in {storage_url}") from None
        if search is None:
            raise SpecError("study", f"search {study_name!r} does not hold its config (it ran before searches "
                                     "stored theirs): pass the search's config")
    task = TASKS[search.task]
    search = task.sized(search)
    result = load_result(storage_url, study_name, search)
    candidates = choose(result, config.top_k) + (baseline_candidates(result) if config.baselines else [])
    if not candidates:
        raise SpecError("study", f"search {study_name!r} has no completed trial to finalize")
    out = Path(out)
    _claim(out, study_name, config, search)
    recipe = task.recipe(config.recipe)
    oneshot = config.inherit and search.strategy is Strategy.ONESHOT
    inherit = oneshot and supernet is not None and Path(supernet).exists()
    if oneshot and not inherit:
        log.warning("finalize of %s: its supernet (%s) is gone; its trials train from scratch", study_name, supernet)
    networks = [NetworkTask(f"networks/{c.name}", c.spec_key, recipe, c,
                            str(supernet) if inherit and c.kind is NetworkKind.TRIAL else None) for c in candidates]

    def done(network: NetworkTask, measured: dict[str, Any]) -> None:
        if on_network is not None:
            on_network(NetworkResult.from_dict(network.item, measured))

    measured, stop = train_networks(networks, replace(task.data(search), subset=config.subset), out,
                                    workers=config.workers, threads=config.threads, should_stop=should_stop,
                                    on_done=done, train_fn=task.train_network)
    report = build_report(study_name, search, config.to_dict(), [
        NetworkResult.from_dict(n.item, measured[n.name]) for n in networks if n.name in measured], str(out), str(stop))
    write_json(out / "report.json", report.to_dict())
    return report


@dataclass(frozen=True)
class NetworkTask:
    """One network to train at full fidelity: its directory under the output directory (``name``, may hold
    ``/``), its spec, its recipe, the caller's ``item``, and the supernet it inherits from (``train_inherited``)."""

    name: str
    spec_key: str
    recipe: TrainRecipe
    item: Any = None
    supernet: str | None = None  # the supernet checkpoint it inherits its starting weights from (None: scratch)


def train_networks(networks: Sequence[NetworkTask], data: DatasetConfig | BoxDatasetConfig,
                   out: str | os.PathLike[str], *,
                   workers: int, threads: int, should_stop: StopCheck | None = None,
                   on_done: Callable[[NetworkTask, dict[str, Any]], None] | None = None,
                   train_fn: EvaluateFn = train_network) -> tuple[dict[str, dict[str, Any]], Stop]:
    """Train each network into ``out/<name>/`` on Ray (``workers`` at a time, ``threads`` each), resumably: a
    network whose ``result.json`` is there is read back, not trained again, and one that was running resumes from
    its last epoch's checkpoint. Name -> its figures (``train_fn``'s, with ``error`` and ``directory``) for every
    network finished or failed, and why the batch stopped. ``on_done(network, figures)`` as each one ends in this
    call (a failed one is trained again by the next call). A box dataset (detection) is read where each worker runs,
    not shipped."""
    out = Path(out)
    results: dict[str, dict[str, Any]] = {}
    for network in networks:
        saved = out / network.name / RESULT
        if saved.exists():
            results[network.name] = json.loads(saved.read_text())

    def done(task: Task, evaluated: Evaluated) -> None:
        network: NetworkTask = task.item
        measured = {**evaluated.measured, "error": evaluated.error, "directory": str(out / network.name)}
        if evaluated.error is None:  # only a finished network is never trained again
            write_json(out / network.name / RESULT, measured)
        results[network.name] = measured
        if on_done is not None:
            on_done(network, measured)

    def attempt() -> Stop:
        todo = [n for n in networks if n.name not in results or results[n.name].get("error") is not None]
        device = next((n.recipe.device.value for n in todo), "auto")
        executor = RayExecutor(threads, workers * threads, budget=TrainBudget(device=device, gpus_per_trial=1.0),
                               dataset=data if isinstance(data, DatasetConfig) else None)
        tasks = []
        for n in todo:
            directory = out / n.name
            directory.mkdir(parents=True, exist_ok=True)
            args = (n.spec_key, data, n.recipe, str(directory), threads)
            tasks.append(Task(train_inherited, (*args, n.supernet), n) if n.supernet else Task(train_fn, args, n))
        return run_batch(tasks, executor, workers, done, should_stop)

    return results, with_restarts(attempt, restart_ray)


def _claim(out: Path, study_name: str, config: FinalizeConfig, search: SearchConfig) -> None:
    """Record what ``out`` is the finalize of; FinalizeMismatch when it already holds another one."""
    manifest = {"study": study_name, "config": config.to_dict(), "search": search.to_dict()}
    path = out / MANIFEST
    if path.exists():
        held = json.loads(path.read_text())
        if held != json.loads(json.dumps(manifest)):
            which = "study" if held.get("study") != study_name else "config"
            raise FinalizeMismatch(f"{out} holds the finalize of another {which} ({held.get('study')}); use "
                                   "another output directory, or the same study and config to resume it")
        return
    write_json(path, manifest)
