"""Does a detection search find detectors that beat the fitted SSDLite and YOLOX-Nano-style baselines? Per box
dataset, the default detection search (small trial budget) and a finalize of its front and its baselines: test
mAP@.5 and mAP@[.5:.95] of every network beside its latency and MACs, whether the fully trained front dominates
each baseline at equal latency and at equal MACs, and what the search and the finalize cost in CPU-seconds.

    python benchmarks/detection_search.py [--datasets builtin-boxes,builtin-boxes-small] [--trials 12]
                                          [--objective latency] [--epochs 6] [--top-k 3] [--full-epochs 30]
                                          [--subset 1.0] [--workers 2] [--seed 0]
                                          [--work benchmarks/out/detection_search]

Per dataset, a search with SearchConfig's defaults for task detection but ``--trials``, ``--epochs`` and
``--objective`` (batch 16: a tiny detector trained from scratch on 240 images for 6 epochs reaches validation
mAP@[.5:.95] 0.030 at batch 16 and 0.0045 at batch 32; mAP stays 0 for the first two epochs either way) (the detection skeleton at 96 px, SSDLite/YOLOX heads on none/FPN-lite/PAN-lite necks, TPE +
MO-ASHA on per-epoch validation mAP, the three default baselines SSDLite-MobileNetV2, SSDLite-MobileNetV3-Large
and the YOLOX-Nano-style net fitted to the data and the space's MACs range, latency of the whole network measured
on the workers) runs in a SQLite study under ``--work``; then ``workers.search.finalize`` (what ``python -m
workers finalize`` runs) trains its top ``--top-k`` (the front, spread over cost) and its baselines for
``--full-epochs`` epochs with the detector training's recipe (AdamW 0.005, crop 0.5, flip), each network a Ray
task of one CPU. Both resume: a rerun with the same arguments continues where it stopped.

The datasets are the generated ``builtin-boxes`` (one to four objects of 6-40 % of the side) and
``builtin-boxes-small`` (three to nine objects of 5-15 %: crowded small objects), 400 images each, 20 % held out
as the test split. Dominance (``finalize_truth.dominance``) is by test mAP@[.5:.95]: a baseline is dominated
when a trained trial is no worse at no higher cost, better in one. The search's CPU-seconds are its trials' and
baselines' measured process CPU time. Every dataset's JSON goes to ``--work``/detection_search.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from finalize_truth import print_dominance, search_and_finalize, verdict
from proxy_truth import OUT

from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.runtime import ensure_ray
from workers.search import (
    TASK_BUDGET_DEFAULTS,
    FinalizeConfig,
    FinalizeReport,
    SearchConfig,
    Task,
)
from workers.training import TrainBudget, TrainRecipe


def table(report: FinalizeReport, by_latency: dict[str, Any], by_macs: dict[str, Any]) -> str:
    rows = []
    for n in report.networks:
        c = n.candidate
        failed = None if n.error is None else f"failed: {n.error[:40]}"
        rows.append([c.name, c.proxy_accuracy, failed or n.test_map50, None if failed else n.test_accuracy,
                     c.latency_ms, None if c.macs is None else c.macs / 1e6, None if c.params is None else c.params / 1e6,
                     n.cpu_seconds, verdict(c, by_latency, by_macs)])
    return format_table(["network", "proxy val mAP", "test mAP@.5", "test mAP@[.5:.95]", "latency ms", "M MACs",
                         "M params", "CPU-s", "dominated (latency / MACs)"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="builtin-boxes,builtin-boxes-small")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--objective", default="latency", choices=("latency", "macs"))
    parser.add_argument("--epochs", type=int, default=6, help="proxy epochs per trial (MO-ASHA rungs below)")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--full-epochs", type=int, default=30)
    parser.add_argument("--subset", type=float, default=1.0, help="fraction of the non-test images used")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=OUT / "detection_search")
    args = parser.parse_args()
    command = "python benchmarks/detection_search.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(args.work / 'studies.db').resolve()}"
    ensure_ray(args.workers)
    path = args.work / "detection_search.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    recipe = TrainRecipe(epochs=args.full_epochs)  # finalize fills in the detector training's defaults
    for source in args.datasets.split(","):
        search = SearchConfig(task=Task.DETECTION, dataset=DatasetConfig(source=source, subset=args.subset),
                              budget=TrainBudget(epochs=args.epochs, **TASK_BUDGET_DEFAULTS[Task.DETECTION]), n_trials=args.trials,
                              objective=args.objective, seed=args.seed, n_workers=args.workers)
        study = (f"detection-search-{source}-{args.objective}-{args.trials}x{args.epochs}-{args.subset:g}-"
                 f"{args.seed}")
        config = FinalizeConfig(top_k=args.top_k, recipe=recipe, workers=args.workers)
        result, report, figures = search_and_finalize(search, storage, study, config, args.work)
        print(f"\n{source}: detection search of {args.trials} trials x {args.epochs} epochs "
              f"({figures['search_cpu_seconds']:.0f} CPU-s, {figures['search_wall_seconds']:.0f} s wall this run; "
              f"{result.counts()}), finalize of {len(report.networks)} networks ({args.full_epochs} epochs at "
              f"{search.space.resolutions[0]} px): {report.cpu_seconds:.0f} CPU-s "
              f"({figures['finalize_wall_seconds']:.0f} s wall this run, {args.workers} workers)")
        print(table(report, figures["dominance"]["latency"], figures["dominance"]["macs"]))
        print_dominance(figures, " (test mAP@[.5:.95])")
        results[source] = {"command": command, **figures, "search_counts": result.counts()}
        path.write_text(json.dumps(results, indent=2) + "\n")  # after every dataset: a stopped run keeps it
        sys.stdout.flush()
    print(f"\n$ {command}\nraw: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
