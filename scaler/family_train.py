"""A scaling search judged at full fidelity: the grid's candidates trained with the recipe (``scaler.grid``), then
the winner's family and the same-budget baselines trained the same way, timed and counted
(``scaler.family_report``).

The family: members ``phis`` of the base (fitted to the data's classes and channels) derived with the chosen
alpha, beta, gamma (``scaler.derive``, the rounding that keeps the formula's MACs ratio), each at its own
resolution. The baselines: for each member and each zoo network of ``GridConfig.baselines``, the zoo network
fitted to the data and to the member's resolution as a search fits its baselines (small-input stem at 64 px and
below) and then to the member's MACs by its width multiplier (``searchspace.fit.adapt_to_macs``). The default,
MobileNetV2 at width multipliers, is the classic one-dimension scaling of a hand-designed network (its paper's own
knob, the scaling EfficientNet's figure 1 and table 3 set compound scaling against), and the first baseline of a
search. Every network trains ``seeds`` times (the grid's seeds) with the recipe at its resolution.

Products and resuming. Under the output directory ``OUT``: ``scaling.json`` (which base and settings the
directory belongs to), ``candidates/<key>/seed<s>/`` (a grid run's product; the study remembers finished runs)
and ``family/<key>/<network>/seed<s>/`` (``workers.search.train_networks``: a network whose ``result.json`` is
there is not trained again, one that was running resumes from its last epoch's checkpoint).

Latency, once every network has trained (no training beside it): predicted from the device profile when
``latency.device`` names one, else measured on this machine by the plain loop (``workers.latency.time_specs_fresh``:
each network alone in a fresh process, ``latency.threads`` threads, batch ``latency.batch_size``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from scaler.family_report import FamilyNetwork, FamilyResult, Role
from scaler.grid import ProgressFn, run_grid
from scaler.grid_config import Candidate, Fidelity, GridConfig
from scaler.grid_results import GridResult
from scaler.scaling import derive, member_name
from searchspace import zoo
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.fit import adapt_to_macs
from searchspace.latency_table import DeviceProfile, MissingEntryError
from searchspace.spec import ArchSpec
from workers.data import DatasetInfo
from workers.latency import PlainLoop, predictor_for, time_specs_fresh
from workers.runtime import EvaluateFn, StopCheck, StopReason
from workers.search import NetworkTask, train_networks
from workers.training import train_network

MANIFEST = "scaling.json"
CANDIDATES = "candidates"
FAMILY = "family"
NetworkFn = Callable[[str, dict[str, Any]], None]


def plan(base: ArchSpec, config: GridConfig, chosen: Candidate, info: DatasetInfo) -> list[FamilyNetwork]:
    """The members ``config.phis`` of ``base``'s family with ``chosen``'s coefficients, then each baseline at each
    member's resolution and MACs (untrained). SpecError naming ``phis`` when a member is not a valid network."""
    shaped = replace(base, num_classes=info.num_classes, in_chans=info.in_chans)
    base_macs = count(shaped).macs
    members = []
    for phi in config.phis:
        try:
            member = derive(shaped, chosen.alpha, chosen.beta, chosen.gamma, phi)
        except SpecError as err:
            raise SpecError("phis", f"phi {phi:g} of the chosen {chosen.key}: {err}") from None
        spec = member.spec if phi else replace(member.spec, name=member_name(base.name, "phi0"))
        members.append(FamilyNetwork(name=f"phi{phi:g}", role=Role.MEMBER, phi=phi, spec=spec,
                                     params=member.count.params, macs=member.count.macs,
                                     macs_ratio=member.count.macs / base_macs, ideal_ratio=member.ideal_ratio))
    baselines = []
    for name in config.baselines:
        for m in members:
            fitted = adapt_to_macs(zoo.get(name), info.num_classes, info.in_chans, m.spec.resolution, m.macs, name)
            spec = replace(fitted.spec, name=member_name(name, f"phi{m.phi:g}"))
            baselines.append(FamilyNetwork(name=f"{name}-phi{m.phi:g}", role=Role.BASELINE, phi=m.phi, spec=spec,
                                           params=fitted.params, macs=fitted.macs, macs_ratio=fitted.macs / base_macs,
                                           zoo=name, width=fitted.width, changes=fitted.changes))
    return members + baselines


def _aggregate(network: FamilyNetwork, seeds: list[int], runs: dict[int, dict[str, Any]]) -> FamilyNetwork:
    """``network`` with its runs' figures (seed -> ``train_network``'s figures with ``error`` and ``directory``)."""
    failed = {s: r["error"] for s, r in runs.items() if r.get("error")}
    if failed:
        error = "; ".join(f"seed {s}: {e}" for s, e in failed.items())
    elif len(runs) < len(seeds):
        error = f"{len(seeds) - len(runs)} of {len(seeds)} seed(s) not trained: the run stopped first"
    else:
        error = None
    done = [(s, runs[s]) for s in seeds if s in runs and not runs[s].get("error")]
    total = [r.get("cpu_seconds") for _, r in done if r.get("cpu_seconds") is not None]
    return replace(network, seeds=tuple(s for s, _ in done), test_accuracies=tuple(r["accuracy"] for _, r in done),
                   val_accuracies=tuple(r["val_accuracy"] for _, r in done),
                   directory=done[0][1]["directory"] if done else None,
                   directories=tuple(r["directory"] for _, r in done),
                   train_seconds=sum(r.get("train_seconds") or 0.0 for _, r in done) if done else None,
                   cpu_seconds=sum(total) if total else None, error=error)


def latencies(networks: list[FamilyNetwork], config: GridConfig,
              profile: DeviceProfile | None = None) -> tuple[dict[str, dict[str, Any]], str]:
    """Name -> ``latency_ms`` and ``latency_source`` of each network (see the module docstring), and how."""
    if config.latency is None:
        return {}, "not measured (latency: null)"
    predictor = predictor_for(config.latency, profile)
    if predictor is not None:
        out: dict[str, dict[str, Any]] = {}
        for n in networks:
            try:
                out[n.name] = predictor(n.spec)
            except MissingEntryError as err:
                out[n.name] = {"latency_ms": None, "latency_source": f"not predicted: {err}"}
        return out, predictor.source
    loop = PlainLoop(threads=config.latency.threads, batch_size=config.latency.batch_size)
    source = f"measured on this machine's CPU by the plain loop ({loop.describe()}), each network alone"
    figures = time_specs_fresh([n.spec for n in networks], loop)
    return {n.name: {"latency_ms": f.median_ms, "latency_source": source} for n, f in zip(networks, figures,
                                                                                          strict=True)}, source


def train_family(base: ArchSpec, config: GridConfig, chosen: Candidate, out: str | os.PathLike[str], *,
                 should_stop: StopCheck | None = None, on_network: NetworkFn | None = None,
                 train_fn: EvaluateFn = train_network, profile: DeviceProfile | None = None) -> FamilyResult:
    """Train ``chosen``'s family and its baselines into ``out/family/<key>/`` (resumably), time them; the result.
    ``on_network(name, figures)`` as each run ends (``name``: ``<network>/seed<s>``)."""
    info = config.dataset.validate()
    planned = plan(base, config, chosen, info)
    seeds = config.run_seeds()
    root = Path(out) / FAMILY / chosen.key
    tasks = [NetworkTask(f"{n.name}/seed{s}", n.spec.to_string(), config.run_recipe(n.spec, s), (n.name, s))
             for n in planned for s in seeds]

    def done(task: NetworkTask, figures: dict[str, Any]) -> None:
        if on_network is not None:
            on_network(task.name, figures)

    runs, stop = train_networks(tasks, config.dataset, root, workers=config.workers, threads=config.threads,
                                should_stop=should_stop, on_done=done, train_fn=train_fn)
    networks = [_aggregate(n, seeds, {s: runs[f"{n.name}/seed{s}"] for s in seeds if f"{n.name}/seed{s}" in runs})
                for n in planned]
    trained = [n for n in networks if n.error is None]
    timed: dict[str, dict[str, Any]] = {}
    how = "not measured: the training stopped first"
    if stop.reason is StopReason.BUDGET:
        timed, how = latencies(trained, config, profile)
    networks = [replace(n, **timed.get(n.name, {})) for n in networks]
    why = ", ".join(f"{name} at each member's resolution and MACs" for name in config.baselines)
    return FamilyResult(alpha=chosen.alpha, beta=chosen.beta, gamma=chosen.gamma, networks=networks, out=str(root),
                        latency=how, stopped=stop, level=config.significance, baselines_why=why)


def _claim(out: Path, base: ArchSpec, config: GridConfig) -> None:
    """Record which base and settings ``out`` belongs to; SpecError naming ``out`` when it holds another's."""
    manifest = json.loads(json.dumps({"base": base.to_string(), "evaluation": config.evaluation_settings()}))
    path = out / MANIFEST
    if path.exists():
        if json.loads(path.read_text()) != manifest:
            raise SpecError("out", f"{out} holds the networks of another base or other settings; use another "
                                   "output directory, or the same base and settings to resume")
        return
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)


def run_scaling(base: ArchSpec, config: GridConfig, storage_url: str, out: str | os.PathLike[str] | None = None, *,
                study_name: str | None = None, should_stop: StopCheck | None = None,
                on_candidate: ProgressFn | None = None, on_network: NetworkFn | None = None,
                evaluate_fn: EvaluateFn | None = None, train_fn: EvaluateFn = train_network,
                profile: DeviceProfile | None = None, poll_s: float = 0.5) -> GridResult:
    """The grid (``scaler.grid.run_grid``) and, at full fidelity, once it chose, its family and baselines
    (``train_family``) into ``out`` (required then): the grid's result with ``family`` set and ``stopped``
    the family's. A stopped grid or one without a choice returns as it is; a rerun resumes either stage."""
    if config.fidelity is Fidelity.PROXY:
        return run_grid(base, config, storage_url, study_name=study_name, should_stop=should_stop,
                        on_candidate=on_candidate, evaluate_fn=evaluate_fn, poll_s=poll_s)
    if out is None:
        raise SpecError("out", "a full-fidelity scaling search needs an output directory for its networks")
    out = Path(out)
    _claim(out, base, config)
    grid = run_grid(base, config, storage_url, study_name=study_name, should_stop=should_stop,
                    on_candidate=on_candidate, evaluate_fn=evaluate_fn or train_fn, poll_s=poll_s,
                    out=out / CANDIDATES)
    if grid.chosen is None or grid.stopped is None or grid.stopped.reason is not StopReason.BUDGET:
        return grid
    family = train_family(base, config, grid.chosen.candidate, out, should_stop=should_stop, on_network=on_network,
                          train_fn=train_fn, profile=profile)
    return replace(grid, family=family, stopped=family.stopped)
