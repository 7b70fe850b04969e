"""Zero-cost proxies vs trained accuracy on the shapes benchmark: Spearman's rank correlation of each proxy (and,
for comparison, of MACs and parameters) with the proxy-budget accuracy, over all candidates and within MACs
tertiles, and the CPU time of a proxy score vs a training.

    python benchmarks/zero_cost.py [--candidates 32] [--resolution 16] [--epochs 3] [--batch 64] [--seed 0]

Candidates are drawn by Optuna's RandomSampler from workers.search.config.PROXY_SPACE (the same draw as
benchmarks/dataset_spread.py, whose trainings it reuses from benchmarks/out/); each is scored untrained (weights
from ``--seed``) on one batch of ``--batch`` training images, then trained on one thread with the default
TrainBudget but ``--epochs``. Within a tertile the correlation says whether a proxy ranks candidates of similar
cost, which is what a screen in front of an accuracy-vs-cost search needs (MACs alone already rank by cost).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import numpy as np
import torch
from candidates import CACHE, random_specs, train_all
from scipy.stats import spearmanr

from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.screening import Proxy, non_dominated_first, score
from workers.search import hypervolume
from workers.training import TrainBudget

PROXIES = [p for p in Proxy if p != Proxy.NONE]


def proxy_batch(dataset: DatasetConfig, resolution: int, in_chans: int, size: int, seed: int) -> torch.Tensor:
    data = dataset.load(resolution, in_chans)
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
    return data.x_train[order[:size]]


def selection_table(columns: dict[str, np.ndarray], acc: np.ndarray, k: int, seed: int, draws: int = 2000) -> str:
    """Would the screen pick well? Hypervolume (accuracy vs MACs) of the ``k`` candidates the screen enqueues
    (non-dominated by proxy score and MACs) vs ``k`` drawn at random from the same trained candidates."""
    macs = columns["MACs"]
    ref = 1.1 * float(macs.max())

    def hv(idx: Any) -> float:
        return hypervolume([(float(acc[i]), float(macs[i])) for i in idx], ref)

    rng = np.random.default_rng(seed)
    random_hv = np.array([hv(rng.choice(len(acc), k, replace=False)) for _ in range(draws)])
    rows = []
    for p in PROXIES:
        picked = hv(non_dominated_first(columns[p.value].tolist(), macs.astype(int).tolist(), k))
        rows.append([p.value, picked, float(np.median(random_hv)), picked / float(np.median(random_hv)),
                     float((random_hv < picked).mean())])
    rows.append(["(all trained)", hv(range(len(acc))), float(np.median(random_hv)), None, None])
    return format_table([f"pick {k} by", "HV picked", "HV random (median)", "picked / random",
                         "random draws beaten"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=32)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=TrainBudget().epochs)
    parser.add_argument("--batch", type=int, default=64, help="images the proxies see")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pick", type=int, default=8, help="candidates the screen would enqueue")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = DatasetConfig(source="shapes", seed=args.seed)
    info = dataset.validate()
    specs = random_specs(args.candidates, args.seed, args.resolution, info.num_classes, info.in_chans)
    x = proxy_batch(dataset, args.resolution, info.in_chans, args.batch, args.seed)
    scores: dict[str, list[float]] = {p: [] for p in PROXIES}
    cpu: dict[str, list[float]] = {p: [] for p in PROXIES}
    for spec in specs:
        for p in PROXIES:
            start = time.process_time()
            scores[p].append(score(spec, p, x, args.seed))
            cpu[p].append(time.process_time() - start)
    own_cache = CACHE.with_name("trained_candidates_zero_cost.json")
    trained = train_all(specs[::-1], dataset, TrainBudget(epochs=args.epochs), args.seed, own_cache)[::-1]
    acc = np.array([r["accuracy"] for r in trained])
    columns = {**{p.value: np.array(scores[p]) for p in PROXIES},
               "MACs": np.array([r["macs"] for r in trained], float),
               "params": np.array([r["params"] for r in trained], float)}
    tertiles = np.array_split(np.argsort(columns["MACs"], kind="stable"), 3)
    rows = []
    for name, values in columns.items():
        within = [spearmanr(values[t], acc[t]).statistic for t in tertiles]
        rows.append([name, spearmanr(values, acc).statistic, *within, statistics.mean(within)])
    print(f"{len(specs)} candidates, accuracy {acc.min():.3f}..{acc.max():.3f} (median {np.median(acc):.3f}); "
          f"MACs tertiles up to {[int(columns['MACs'][t].max()) for t in tertiles]}")
    print(format_table(["score", "Spearman overall", "low MACs", "mid MACs", "high MACs", "mean within"], rows))
    print()
    print(selection_table(columns, acc, args.pick, args.seed))
    train_cpu = statistics.median(r["cpu_s"] for r in trained)
    print()
    print(format_table(["proxy", "median CPU-ms per screened", "trained / screened"],
                       [[p.value, 1000 * statistics.median(cpu[p]), train_cpu / statistics.median(cpu[p])]
                        for p in PROXIES]))
    print(f"median CPU-s per trained candidate: {train_cpu:.1f}")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
