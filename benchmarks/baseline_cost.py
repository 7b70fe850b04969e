"""What the baselines add to a search: each default baseline's evaluation (fitted to the search, trained with its
budget, latency measured) against sampled candidates of the same space, evaluated the same way in the same run.

    python benchmarks/baseline_cost.py [--candidates 5] [--epochs 3] [--subset 1.0] [--baselines a,b]

Sequential, one torch thread; reports per-network CPU seconds (and wall seconds), the medians and their ratio, and the whole baseline set as
a number of median candidate evaluations (what the set adds to a search, divided by the search's workers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import optuna
import torch

from searchspace import zoo
from searchspace.fit import adapt_to_space
from searchspace.space import sample
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.search import DEFAULT_BASELINES, SearchConfig
from workers.training import TrainBudget, evaluate


def _timed(label: str, spec, config: SearchConfig) -> float:
    """CPU seconds of one evaluation in this process (one torch thread: robust to other load on the machine)."""
    start, wall = time.process_time(), time.perf_counter()
    result = evaluate(spec, config.dataset, config.budget, seed=config.seed, latency=config.latency, threads=1)
    cpu = time.process_time() - start
    print(format_table(["network", "CPU s", "wall s", "accuracy", "MACs"],
                       [[label, cpu, time.perf_counter() - wall, result.accuracy, result.macs]]).splitlines()[-1],
          flush=True)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=TrainBudget().epochs)
    parser.add_argument("--subset", type=float, default=1.0)
    parser.add_argument("--baselines", default=",".join(DEFAULT_BASELINES))
    args = parser.parse_args()
    config = SearchConfig(dataset=DatasetConfig(subset=args.subset), budget=TrainBudget(epochs=args.epochs))
    info = config.dataset.validate()
    config = config.with_data_shape(info.num_classes, info.in_chans)
    torch.set_num_threads(1)
    print("network, CPU seconds, wall seconds, accuracy, MACs", flush=True)
    base_s, cand_s = [], []
    for name in args.baselines.split(","):
        base_s.append(_timed(f"baseline {name}", adapt_to_space(zoo.get(name), config.space, name).spec, config))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))  # the random sampler's proposals
    for seed in range(args.candidates):
        cand_s.append(_timed(f"candidate {seed}", sample(study.ask(), config.space), config))
    ratio = statistics.median(base_s) / statistics.median(cand_s)
    print(f"median CPU seconds: baseline {statistics.median(base_s):.1f}, candidate {statistics.median(cand_s):.1f} "
          f"(ratio {ratio:.2f}); the {len(base_s)} baselines together: {sum(base_s):.0f} s = "
          f"{sum(base_s) / statistics.median(cand_s):.1f} median candidate evaluations")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
