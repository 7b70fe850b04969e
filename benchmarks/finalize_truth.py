"""Does the search's front survive full training? The default search (small budget) and a finalize of its top 5
and its 5 default baselines, per dataset: proxy and full-fidelity test accuracy beside latency and MACs, whether
the fully trained front dominates each baseline, proxy-vs-full rank correlation, and what the finalize cost.

    python benchmarks/finalize_truth.py [--datasets digits,shapes,textures] [--trials 12] [--objective latency]
                                        [--top-k 5] [--full-epochs 10] [--full-resolution 32]
                                        [--recipe field=value,...] [--workers 2] [--work benchmarks/out/finalize_truth]

Per dataset, a search with SearchConfig's defaults but ``--trials`` (TPE + MO-ASHA, 3 epochs at 32 px, the five
default baselines fitted to the data, latency measured on the workers) runs in a SQLite study under ``--work``;
then ``workers.search.finalize`` (what ``python -m workers finalize`` runs) trains its top ``--top-k`` and its
baselines with the default TrainRecipe but ``--full-epochs`` epochs at ``--full-resolution`` px (and the
``--recipe`` overrides, TrainRecipe fields with JSON values), each network a Ray task of one CPU. Both resume:
a rerun with the same arguments continues the search and the finalize where they stopped.

Dominance is judged twice: at the search's latency (what the finalize report does for a latency search) and at
counted MACs; a baseline is dominated when a trained trial is no less accurate at no higher cost, better in one.
CPU-s of the finalize is the measured process CPU time of its training tasks (on this 2-core machine: 2 tasks
of one thread in parallel). The datasets are proxy_truth.py's (textures is generated there). The JSON of every
dataset goes to ``--work``/finalize_truth.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from proxy_truth import OUT, make_textures
from recipe_augmentation import parse_arm

from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.runtime import ensure_ray
from workers.search import (
    FinalizeConfig,
    FinalizeReport,
    NetworkKind,
    SearchConfig,
    SearchDriver,
    agreement_sentence,
    finalize,
    front_vs_baselines,
    rank_agreement,
)
from workers.training import TrainRecipe


def dominance(report: FinalizeReport, cost: str) -> dict[str, Any]:
    """Per baseline: whether a trained trial dominates it at ``cost`` (``latency_ms`` or ``macs``), and by which."""
    trained = [n for n in report.networks if n.error is None and n.test_accuracy is not None]
    trials = [(n.candidate.name, (n.test_accuracy, float(getattr(n.candidate, cost))))
              for n in trained if n.candidate.kind is NetworkKind.TRIAL and getattr(n.candidate, cost) is not None]
    baselines = {n.candidate.name: (n.test_accuracy, float(getattr(n.candidate, cost)))
                 for n in trained if n.candidate.kind is NetworkKind.BASELINE and getattr(n.candidate, cost) is not None}
    verdicts = front_vs_baselines([point for _, point in trials], baselines)  # any trial dominating = some front's
    return {v.name: {"dominated": v.dominated, "by": None if v.dominated_by is None else trials[v.dominated_by][0],
                     "margin": v.margin} for v in verdicts}


def correlations(report: FinalizeReport) -> dict[str, Any]:
    """Spearman/Kendall between proxy and full test accuracy: over every trained network, and over the trials."""
    out = {}
    for what, kinds in (("all", tuple(NetworkKind)), ("trials", (NetworkKind.TRIAL,))):
        pairs = [(n.candidate.proxy_accuracy, n.test_accuracy) for n in report.networks
                 if n.error is None and n.test_accuracy is not None and n.candidate.kind in kinds]
        if len(pairs) >= 2:
            agreement = rank_agreement(*zip(*pairs, strict=True))
            out[what] = {**agreement.to_dict(), "sentence": agreement_sentence(agreement)}
    return out


def verdict(candidate: Any, by_latency: dict[str, Any], by_macs: dict[str, Any]) -> str:
    """A baseline's "dominated (latency / MACs)" cell: "yes (by whom)", "no" or "-" for each; "" for a trial."""
    if candidate.kind is not NetworkKind.BASELINE:
        return ""
    return " / ".join("-" if candidate.name not in v else
                      (f"yes ({v[candidate.name]['by']})" if v[candidate.name]["dominated"] else "no")
                      for v in (by_latency, by_macs))


def table(report: FinalizeReport, by_latency: dict[str, Any], by_macs: dict[str, Any]) -> str:
    rows = []
    for n in report.networks:
        c = n.candidate
        rows.append([c.name, c.proxy_accuracy, n.test_accuracy if n.error is None else f"failed: {n.error[:40]}",
                     c.latency_ms, None if c.macs is None else c.macs / 1e6, n.cpu_seconds,
                     verdict(c, by_latency, by_macs)])
    return format_table(["network", "proxy acc", "full test acc", "latency ms", "M MACs", "CPU-s",
                         "dominated (latency / MACs)"], rows)


def search_and_finalize(search: SearchConfig, storage: str, study: str, config: FinalizeConfig,
                        work: Path) -> tuple[Any, FinalizeReport, dict[str, Any]]:
    """Run (or resume) the search, then its finalize under ``work``/``study``: the search's result, the finalize
    report and the figures every dataset's JSON keeps (CPU and wall seconds, dominance at latency and MACs)."""
    start = time.perf_counter()
    result = SearchDriver(search, storage, study).run()
    search_wall = time.perf_counter() - start
    search_cpu = sum(r.cpu_seconds or 0.0 for r in [*result.trials, *result.baselines])
    start = time.perf_counter()
    report = finalize(storage, study, config, work / study)
    wall = time.perf_counter() - start
    return result, report, {"study": study, "search": search.to_dict(), "search_cpu_seconds": search_cpu,
                            "search_wall_seconds": search_wall, "finalize_wall_seconds": wall,
                            "report": report.to_dict(),
                            "dominance": {"latency": dominance(report, "latency_ms"), "macs": dominance(report, "macs")}}


def print_dominance(figures: dict[str, Any], by: str = "") -> None:
    """How many baselines the fully trained trials dominate, at equal latency and at equal MACs."""
    for what, key in (("latency", "latency"), ("MACs", "macs")):
        verdicts = figures["dominance"][key]
        beaten = sum(v["dominated"] for v in verdicts.values())
        print(f"the fully trained trials dominate {beaten} of {len(verdicts)} baselines at equal {what}{by}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,shapes,textures")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--objective", default="latency", choices=("latency", "macs"))
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--full-epochs", type=int, default=10)
    parser.add_argument("--full-resolution", type=int, default=32)
    parser.add_argument("--recipe", default="", help="TrainRecipe overrides: field=value,... (JSON values)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=OUT / "finalize_truth")
    args = parser.parse_args()
    command = "python benchmarks/finalize_truth.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    _, overrides = parse_arm("recipe:" + args.recipe)
    recipe = TrainRecipe.from_dict({**TrainRecipe(epochs=args.full_epochs, resolution=args.full_resolution).to_dict(),
                                    **overrides})
    args.work.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(args.work / 'studies.db').resolve()}"
    ensure_ray(args.workers)
    path = args.work / "finalize_truth.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for source in args.datasets.split(","):
        data = DatasetConfig(source=str(make_textures(OUT / "textures")) if source == "textures" else source)
        search = SearchConfig(dataset=data, n_trials=args.trials, objective=args.objective, seed=args.seed,
                              n_workers=args.workers)
        study = f"finalize-truth-{source}-{args.objective}-{args.trials}-{args.seed}"
        config = FinalizeConfig(top_k=args.top_k, recipe=recipe, workers=args.workers)
        _, report, figures = search_and_finalize(search, storage, study, config, args.work)
        agreement = correlations(report)
        print(f"\n{source}: search of {args.trials} trials ({figures['search_cpu_seconds']:.0f} CPU-s, "
              f"{figures['search_wall_seconds']:.0f} s wall this run), finalize of {len(report.networks)} networks "
              f"({recipe.epochs} epochs at {recipe.resolution} px): {report.cpu_seconds:.0f} CPU-s "
              f"({figures['finalize_wall_seconds']:.0f} s wall this run, {args.workers} workers)")
        print(table(report, figures["dominance"]["latency"], figures["dominance"]["macs"]))
        for what, a in agreement.items():
            print(f"proxy vs full, {what}: {a['sentence']}")
        print_dominance(figures)
        results[source] = {"command": command, **figures, "agreement": agreement}
        path.write_text(json.dumps(results, indent=2) + "\n")  # after every dataset: a stopped run keeps it
        sys.stdout.flush()
    print(f"\n$ {command}\nraw: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
