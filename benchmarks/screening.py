"""Does zero-cost screening help a small search? Hypervolume (accuracy vs exact MACs) of a search warmed by the
screen vs the same search without it, at equal CPU time, on the shapes benchmark, over several seeds.

    python benchmarks/screening.py [--proxy naswot] [--trials 8] [--seeds 0,1,2] [--candidates 256] [--enqueued 4]

Both searches use the default sampler (NSGA-II), no pruner, 16 px, the default TrainBudget (3 epochs), two
workers. Equal CPU time: the unscreened search gets ``ceil(screen CPU-s / median training CPU-s)`` extra trials,
from the CPU-seconds the screen measured (recorded on every enqueued trial) and the median training CPU-seconds
that benchmarks/dataset_spread.py and zero_cost.py measured (benchmarks/out/). For each seed both share one
reference point: 1.1 x the largest MACs either trained.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from dataclasses import replace

import optuna
from candidates import CACHE, read_all

from searchspace.space import PROXY_SPACE
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.screening import ScreeningConfig
from workers.search import SearchConfig, SearchDriver, hypervolume, pareto_front


def trained_cpu_s() -> float | None:
    """Median CPU-seconds of one proxy training on shapes at 16 px as the dataset benchmarks measured it (one
    thread, same budget), or None before they ran: then the screened search's median training wall time."""
    rows = [r for key, r in read_all(CACHE.parent).items() if '"source": "shapes"' in key]
    return statistics.median(r["cpu_s"] for r in rows) if rows else None


def search(screening: ScreeningConfig, trials: int, seed: int, storage: str, resolution: int) -> list:
    config = SearchConfig(dataset=DatasetConfig(source="shapes", seed=seed), objective="macs", pruner="none",
                          space=replace(PROXY_SPACE, resolutions=(resolution,)), n_trials=trials, n_workers=2,
                          seed=seed, screening=screening)
    result = SearchDriver(config, storage, f"screening-{screening.proxy}-{trials}-{seed}").run()
    return [t for t in result.trials if t.state == "COMPLETE"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proxy", default="naswot")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--candidates", type=int, default=256)
    parser.add_argument("--enqueued", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=16)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    screen = ScreeningConfig(proxy=args.proxy, candidates=args.candidates, enqueued=args.enqueued)
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{tmp}/screening.db"
        for seed in map(int, args.seeds.split(",")):
            screened = search(screen, args.trials, seed, storage, args.resolution)
            mark = next(t.screened for t in screened if t.screened)
            screen_cpu = mark["cpu_s_per_candidate"] * mark["of"]
            train_cpu = trained_cpu_s() or statistics.median(t.train_seconds for t in screened if t.reused_from is None)
            extra = math.ceil(screen_cpu / train_cpu)
            plain = search(ScreeningConfig(), args.trials + extra, seed, storage, args.resolution)
            ref = 1.1 * max(t.macs for t in screened + plain)
            hv = [hypervolume([(t.accuracy, t.macs) for t in pareto_front(ts, "macs")], ref) for ts in (screened, plain)]
            ratios.append(hv[0] / hv[1])
            rows.append([seed, screen_cpu, 1000 * mark["cpu_s_per_candidate"], train_cpu, extra, hv[0], hv[1],
                         ratios[-1], max(t.accuracy for t in screened), max(t.accuracy for t in plain)])
    print(format_table(["seed", "screen CPU-s", "CPU-ms per screened", "train CPU-s per trial", "extra trials",
                        "HV screened", "HV plain", "screened/plain", "best acc screened", "best acc plain"], rows))
    print(f"\nmedian hypervolume ratio screened ({args.proxy}) / plain over {len(ratios)} seeds: "
          f"{statistics.median(ratios):.3f} (worst {min(ratios):.3f})")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
