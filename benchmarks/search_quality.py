"""Search quality: hypervolume of the accuracy/latency front after N trials, our default sampler (NSGA-II; or
``--sampler tpe``) vs random sampling at equal budget, on digits, over several seeds (real proxy training, measured latency).

    python benchmarks/search_quality.py [--trials 40] [--seeds 0,1,2] [--epochs 2] [--subset 0.5] [--resolution 16]

For each seed both searches share one reference point: 1.1 x the slowest latency either of them measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import replace

import optuna

from searchspace.table import format_table
from workers.config import SearchConfig
from workers.data import DatasetConfig
from workers.driver import SearchDriver
from workers.results import hypervolume, pareto_front
from workers.training import TrainBudget


def run(sampler: str, seed: int, args: argparse.Namespace, storage: str) -> list:
    base = SearchConfig()
    config = SearchConfig(dataset=DatasetConfig(subset=args.subset), budget=TrainBudget(epochs=args.epochs),
                          space=replace(base.space, resolutions=(args.resolution,)),
                          n_trials=args.trials, n_workers=2, sampler=sampler, seed=seed, pruner="none")
    result = SearchDriver(config, storage, f"quality-{sampler}-{seed}").run()
    return [t for t in result.trials if t.state == "COMPLETE"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--subset", type=float, default=0.5)
    parser.add_argument("--resolution", type=int, default=16, help="input size of the proxy search")
    parser.add_argument("--sampler", default="nsga2", choices=("nsga2", "tpe"), help="compared against random")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{tmp}/quality.db"
        for seed in map(int, args.seeds.split(",")):
            trials = {s: run(s, seed, args, storage) for s in (args.sampler, "random")}
            ref = 1.1 * max(t.latency_ms for ts in trials.values() for t in ts)
            hv = {s: hypervolume([(t.accuracy, t.latency_ms) for t in pareto_front(ts, "latency")], ref)
                  for s, ts in trials.items()}
            best = {s: max(t.accuracy for t in ts) for s, ts in trials.items()}
            ratios.append(hv[args.sampler] / hv["random"])
            rows.append([seed, ref, hv[args.sampler], hv["random"], ratios[-1], best[args.sampler], best["random"]])
    name = args.sampler
    print(format_table(["seed", "ref latency ms", f"HV {name}", "HV random", f"{name}/random", f"best acc {name}",
                        "best acc random"], rows))
    print(f"\nmedian hypervolume ratio {name}/random over {len(ratios)} seeds: {statistics.median(ratios):.3f}")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
