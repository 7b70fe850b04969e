"""One-shot search against multi-trial random sampling and the multi-trial default, at equal total CPU time
(the supernet's training included), judged after the same finalize: each search's top 3 trained at full
fidelity, hypervolume of their test accuracy against exact MACs.

    python benchmarks/oneshot_quality.py [--datasets digits,shapes,textures] [--seeds 0,1,2,3,4]
        [--other-seeds 0,1,2] [--cpu-budget 300] [--supernet-epochs 6] [--resolution 16] [--epochs 3]
        [--full-epochs 8] [--full-resolution PX] [--top 3] [--workers 2]
        [--oneshot-sampler nsga2] [--sampling uniform] [--progressive P] [--kinds mbconv,ghost,micro] [--tag NAME]
        [--methods oneshot,random,default] [--reuse SUMMARY.json,...] [--scratch]

Per seed and dataset (``--seeds`` for the first dataset, ``--other-seeds`` for the others; seeds outer, so a
stopped run covers every dataset), three searches of the default proxy space at ``--resolution`` px, each with
a budget of ``--cpu-budget`` measured CPU-seconds (``cpu_budget_s``: its evaluations' CPU time, plus the supernet's training
for one-shot), objective MACs, no baselines: ``oneshot`` (``--supernet-epochs`` of sandwich training, then
candidates judged with inherited weights, proposed by ``--oneshot-sampler``), ``random`` (multi-trial random
sampling, ``--epochs`` of proxy training each, no early stopping) and ``default`` (multi-trial, the search's
defaults: multi-objective TPE with MO-ASHA rungs). Each is then finalized (``workers.search.finalize``): its
``--top`` architectures (the members of its front dominating the most hypervolume) trained with the default
TrainRecipe for ``--full-epochs`` at ``--full-resolution`` (default ``--resolution``), test top-1; one-shot's
start from the weights they inherit from its supernet (the finalize's default, ``FinalizeConfig.inherit``), or
from scratch with ``--scratch`` (a rerun with it finalizes the same studies again). Per seed the three share a reference
point: accuracy at chance and 1.1 x the largest MACs any of them retrained. Reported: each method's hypervolume, its ratio to random's per seed, the median and
worst ratio per dataset, and the CPU each spent. The studies (SQLite) and finalize reports are kept under
benchmarks/out/oneshot_quality[-TAG]/; a summary JSON is rewritten after every search, so a stopped run keeps
what it measured (and a rerun with the same arguments resumes: finished studies and networks are reused).
``--methods`` runs only some of the methods; with ``--reuse``, the other methods' runs (same dataset and seed)
are taken from earlier summaries run with the same settings, and all are judged together.
Goals (issue 28): one-shot's median ratio >= 1.3 and worst seed >= 1.0 on every dataset.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna

from searchspace.errors import SpecError
from searchspace.space import PROXY_SPACE, SearchSpace
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.oneshot import SupernetTraining
from workers.runtime import TrialState
from workers.search import (
    FinalizeConfig,
    SearchConfig,
    SearchDriver,
    finalize,
    hypervolume,
    supernet_checkpoint,
)
from workers.search.search_result import load_result
from workers.training import TrainBudget, TrainRecipe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.proxy_truth import OUT, make_textures  # the third dataset, generated once (one definition)

METHODS = ("oneshot", "random", "default")


def space_of(args: argparse.Namespace) -> SearchSpace:
    """The searched space: the default proxy space at ``--resolution`` px with ``--kinds`` in every stage."""
    return replace(PROXY_SPACE, resolutions=(args.resolution,)).with_choices(kinds=tuple(args.kinds.split(",")))


def search_config(method: str, source: str, seed: int, args: argparse.Namespace) -> SearchConfig:
    path = str(make_textures(OUT / "textures")) if source == "textures" else source
    space = space_of(args)
    base = SearchConfig(dataset=DatasetConfig(source=path), space=space,
                        budget=TrainBudget(epochs=args.epochs), latency=LatencyConfig(warmup=1, repeats=3),
                        objective="macs", baselines=(), n_workers=args.workers, seed=seed,
                        cpu_budget_s=args.cpu_budget, n_trials=args.max_trials)
    if method == "random":
        return replace(base, sampler="random", pruner="none")
    if method == "oneshot":
        budget = TrainBudget(epochs=args.supernet_epochs, batch_size=64, bn_calibration=512, device="cpu")
        return replace(base, strategy="oneshot", sampler=args.oneshot_sampler, n_trials=args.oneshot_trials,
                       supernet=SupernetTraining(budget=budget, sampling=args.sampling, progressive=args.progressive))
    return base


def run(method: str, source: str, seed: int, args: argparse.Namespace, work: Path) -> dict:
    """One search and its finalize; what they spent and what the retrained networks reached."""
    config = search_config(method, source, seed, args)
    url, study = f"sqlite:///{work / 'studies.db'}", f"{method}-{source}-{seed}"
    start, phases = time.perf_counter(), []
    result = SearchDriver(config, url, study, checkpoint_dir=work, on_phase=phases.append).run()
    search_wall = time.perf_counter() - start
    info = config.dataset.validate()
    shaped = config.with_data_shape(info.num_classes, info.in_chans)
    result = load_result(url, study, shaped, result.stopped)
    supernet_cpu = float(phases[-1].get("cpu_seconds") or 0.0) if phases else 0.0
    judged = [t for t in result.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and not t.rejected
              and t.reused_from is None]
    recipe = TrainRecipe(epochs=args.full_epochs, resolution=args.full_resolution or args.resolution)
    try:
        config = FinalizeConfig(top_k=args.top, baselines=False, recipe=recipe, workers=args.workers,
                                inherit=not args.scratch)
        out = work / (f"{study}-scratch" if method == "oneshot" and args.scratch else study)
        report = finalize(url, study, config, out, supernet=supernet_checkpoint(work, study))
    except SpecError as err:  # nothing completed within the budget: the method found nothing (hypervolume 0)
        print(f"{study}: {err}", flush=True)
        report = None
    networks = [{"trial": n.candidate.trial, "spec": n.candidate.spec_key, "proxy_accuracy": n.candidate.proxy_accuracy,
                 "test_accuracy": n.test_accuracy, "macs": n.trained_macs, "error": n.error, "inherited": n.inherited}
                for n in (report.networks if report is not None else [])]
    return {"method": method, "dataset": source, "seed": seed, "stopped": str(result.stopped),
            "search_cpu_seconds": sum(t.cpu_seconds or 0.0 for t in judged) + supernet_cpu,
            "supernet": phases[-1] if phases else None,
            "search_wall_seconds": search_wall, "evaluated": len(judged),
            "complete": sum(t.state is TrialState.COMPLETE for t in judged),
            "finalize_cpu_seconds": report.cpu_seconds if report is not None else 0.0, "networks": networks, "chance": 1.0 / info.num_classes}


def hypervolumes(runs: dict[str, dict], cost: str = "macs") -> dict[str, float]:
    """Each method's hypervolume over its retrained networks (test accuracy above chance against ``cost``, a
    network's figure), at the seed's shared reference point (chance, 1.1 x the largest cost)."""
    done = {m: [n for n in r["networks"] if n["error"] is None and n["test_accuracy"] is not None]
            for m, r in runs.items()}
    ref = 1.1 * max((n[cost] for nets in done.values() for n in nets), default=1.0)
    chance = next(iter(runs.values()))["chance"]
    return {m: hypervolume([(max(0.0, n["test_accuracy"] - chance), float(n[cost])) for n in nets], ref)
            for m, nets in done.items()}


def flags() -> argparse.ArgumentParser:
    """The benchmark's flags (``quality_latency.py`` reads a summary's command with them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,shapes,textures")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="seeds of the first dataset")
    parser.add_argument("--other-seeds", default="0,1,2", help="seeds of the other datasets")
    parser.add_argument("--cpu-budget", type=float, default=300.0, help="CPU-seconds per search")
    parser.add_argument("--supernet-epochs", type=int, default=6)
    parser.add_argument("--sampling", default="uniform", choices=("uniform", "kind", "mixed"))
    parser.add_argument("--progressive", type=float, default=SupernetTraining().progressive)
    parser.add_argument("--oneshot-sampler", default="nsga2", choices=("nsga2", "tpe", "random"))
    parser.add_argument("--oneshot-trials", type=int, default=3000, help="one-shot trial cap (the CPU budget "
                                                                          "should stop it first)")
    parser.add_argument("--max-trials", type=int, default=60, help="multi-trial trial cap")
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--kinds", default="mbconv,ghost,micro", help="block kinds of every stage of the space")
    parser.add_argument("--epochs", type=int, default=3, help="multi-trial proxy epochs")
    parser.add_argument("--full-epochs", type=int, default=8, help="finalize epochs")
    parser.add_argument("--full-resolution", type=int, help="finalize resolution in px (default: --resolution)")
    parser.add_argument("--scratch", action="store_true", help="one-shot's finalize trains from scratch, not "
                                                                "from the supernet's weights (FinalizeConfig.inherit)")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tag", default="")
    parser.add_argument("--methods", default=",".join(METHODS), help="the methods to run")
    parser.add_argument("--reuse", default="", help="earlier summary JSONs (comma-separated) whose runs of the "
                                                     "methods not run are taken, not run again")
    return parser


def main() -> int:
    args = flags().parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    command = "python benchmarks/oneshot_quality.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    work = OUT / f"oneshot_quality{'-' + args.tag if args.tag else ''}"
    work.mkdir(parents=True, exist_ok=True)
    summary: dict = {"command": command, "runs": []}
    ratios: dict[str, dict[str, list[float]]] = {}
    rows = []
    datasets, others = args.datasets.split(","), set(map(int, args.other_seeds.split(",")))
    methods = set(args.methods.split(",")) & set(METHODS)
    reused = {(r["dataset"], r["seed"], r["method"]): {**r, "reused": path}
              for path in filter(None, args.reuse.split(","))
              for r in json.loads(Path(path).read_text())["runs"] if r["method"] not in methods}
    for seed in map(int, args.seeds.split(",")):  # every dataset gets a seed before any gets the next
        for source in (s for i, s in enumerate(datasets) if i == 0 or seed in others):
            runs = {}
            for method in METHODS:
                if method in methods:
                    runs[method] = run(method, source, seed, args, work)
                elif (source, seed, method) in reused:
                    runs[method] = reused[source, seed, method]
                else:
                    continue
                summary["runs"].append(runs[method])
                (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            hv = hypervolumes(runs)
            for m, r in runs.items():
                ratio = hv[m] / hv["random"] if hv.get("random", 0.0) > 0 else float("inf")
                r.update(hypervolume=hv[m], ratio_to_random=ratio)
                ratios.setdefault(source, {}).setdefault(m, []).append(ratio)
                rows.append([source, seed, m, r["evaluated"], r["search_cpu_seconds"], r["finalize_cpu_seconds"],
                             ", ".join(f"{n['test_accuracy']:.3f}" if n["test_accuracy"] is not None else "-"
                                       for n in r["networks"]), hv[m], ratio])
            (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            print(format_table(["dataset", "seed", "method", "evaluated", "search CPU-s", "finalize CPU-s",
                                "test accuracies", "HV", "HV/random"], rows[-len(runs):]), flush=True)
    print("\nall runs:")
    print(format_table(["dataset", "seed", "method", "evaluated", "search CPU-s", "finalize CPU-s",
                        "test accuracies", "HV", "HV/random"], rows))
    table = [[source, m, len(r), statistics.median(r), min(r), max(r)]
             for source, by in ratios.items() for m, r in by.items() if m != "random"]
    print(f"\nhypervolume of the retrained top {args.top} vs random's, equal CPU ({args.cpu_budget:g} CPU-s per "
          "search, one-shot's supernet included):")
    print(format_table(["dataset", "method", "seeds", "median ratio", "worst seed", "best seed"], table))
    print("goals: one-shot median ratio >= 1.3, worst seed >= 1.0, on every dataset")
    print(f"command: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
