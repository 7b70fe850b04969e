"""Does architecture matter on the data? Random candidates of the default proxy space trained with the proxy
budget, on the built-in shapes benchmark and, for contrast, on digits: min / median / max accuracy and the spread.

    python benchmarks/dataset_spread.py [--candidates 16] [--contrast-candidates 8] [--resolution 16] [--epochs 3]

Both datasets train the same candidates (drawn by Optuna's RandomSampler from workers.search.config.PROXY_SPACE at
``--resolution``), each on one thread with the default TrainBudget but ``--epochs``. Results are cached in
benchmarks/out/trained_candidates.json (benchmarks/zero_cost.py reuses them). Goal: a spread (max - min) of at
least 20 accuracy points on shapes.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from candidates import random_specs, train_all

from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.training import TrainBudget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=TrainBudget().epochs)
    parser.add_argument("--seed", type=int, default=0, help="candidate draw, dataset and training seed")
    parser.add_argument("--datasets", default="shapes,digits")
    parser.add_argument("--contrast-candidates", type=int, default=None,
                        help="candidates on the datasets after the first (default: --candidates)")
    args = parser.parse_args()
    budget = TrainBudget(epochs=args.epochs)
    rows, spreads = [], {}
    for i, source in enumerate(args.datasets.split(",")):
        dataset = DatasetConfig(source=source, seed=args.seed)
        info = dataset.validate()
        n = args.candidates if i == 0 or args.contrast_candidates is None else args.contrast_candidates
        specs = random_specs(n, args.seed, args.resolution, info.num_classes, info.in_chans)
        results = train_all(specs, dataset, budget, args.seed)
        acc = [r["accuracy"] for r in results]
        spreads[source] = max(acc) - min(acc)
        rows.append([source, len(acc), min(acc), statistics.median(acc), max(acc), spreads[source],
                     statistics.median(r["cpu_s"] for r in results)])
    print(format_table(["dataset", "candidates", "min acc", "median acc", "max acc", "spread", "median CPU-s"], rows))
    if "shapes" in spreads and "digits" in spreads and spreads["digits"] > 0:
        print(f"\nspread shapes / digits: {spreads['shapes'] / spreads['digits']:.2f}x")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
