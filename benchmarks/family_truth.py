"""Does the compound-scaled family buy accuracy on the user's data, against same-budget baselines? (issue 32)

    nohup python benchmarks/family_truth.py --out /tmp/family32 [--datasets digits,shapes] [--epochs 8]
          [--batch-size 64] [--seeds 2] [--candidates 3] [--phis 0,1,2,3] [--base-seed 0] [--resolution 16] > family.log 2>&1 &

For each built-in dataset, a scaling search at full fidelity (``scaler.family_train.run_scaling``) on one base:
a network sampled from the product's default (proxy) search space at ``--resolution`` px (RandomSampler seed
``--base-seed``; what a search on it would return, not searched here) or ``--zoo NAME`` (at ``--resolution``).
The grid's first ``--candidates`` kept points train the base's own phi = 1 network with the recipe (no proxy)
``--seeds`` times; the winner's family ``--phis`` and MobileNetV2 fitted to each member's resolution and MACs
train the same way (recipe: ``--epochs`` epochs at batch ``--batch-size``, the recipe's defaults otherwise). Printed per dataset: the
candidates, then per network its resolution, MACs, counted/ideal MACs ratio (members), plain-loop latency
(measured after all training, each network alone, 1 thread, batch 1), test accuracy mean +/- sd over seeds, and
each member against the baseline at its MACs (member - baseline test accuracy, paired by seed); and the cost:
wall seconds and CPU-seconds of training, grid and family, and the load average. Raw JSON (every result) goes
to ``OUT/family_truth.json``; the networks' products under ``OUT/<dataset>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna

from scaler.family_train import run_scaling
from scaler.grid_config import Fidelity, GridConfig
from searchspace import zoo
from searchspace.space import PROXY_SPACE, sample
from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.runtime import ensure_ray
from workers.training import TrainRecipe


def found_base(seed: int, resolution: int) -> ArchSpec:
    """A network of the default (proxy) search space at ``resolution`` px."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return replace(sample(study.ask(), replace(PROXY_SPACE, resolutions=(resolution,))), name=f"found{seed}")


def config(args: argparse.Namespace, dataset: str) -> GridConfig:
    return GridConfig(fidelity=Fidelity.FULL, recipe=TrainRecipe(epochs=args.epochs, batch_size=args.batch_size),
                      resolution=None,
                      proxy_width=1.0, proxy_depth=1.0, max_candidates=args.candidates, seeds=args.seeds,
                      phis=tuple(args.phis), dataset=DatasetConfig(source=dataset), workers=2, threads=1,
                      latency=LatencyConfig(threads=1))


def one(args: argparse.Namespace, base: ArchSpec, dataset: str) -> dict:
    grid = config(args, dataset)
    out = Path(args.out) / dataset
    start, cpu = time.monotonic(), time.process_time()
    result = run_scaling(base, grid, f"sqlite:///{Path(args.out) / 'grid.db'}", out,
                         on_candidate=lambda r, d, t: print(f"  [{d}/{t}] {r.candidate.key} seed {r.seed}: val "
                                                            f"{r.accuracy}", flush=True),
                         on_network=lambda n, f: print(f"  family {n}: test {f.get('accuracy')} {f.get('error') or ''}",
                                                       flush=True))
    wall = time.monotonic() - start
    family = result.family
    grid_train = sum(c.train_seconds or 0.0 for c in result.candidates)
    data = {"dataset": dataset, "base": base.to_string(), "wall_s": wall, "driver_cpu_s": time.process_time() - cpu,
            "load_average": os.getloadavg(), "grid_train_s": grid_train, "result": result.to_dict()}
    print(f"\n== {dataset}: base {base.name} at {base.resolution} px, chosen "
          f"{None if result.chosen is None else result.chosen.candidate.key}, {wall:.0f} s wall, load {os.getloadavg()[0]:.1f}")
    print(format_table(["candidate", "val acc", "+/- sd", "test acc", "seeds", "MACs ratio"],
                       [[c.candidate.key, c.accuracy, c.accuracy_std, c.test_accuracy, len(c.seeds), c.macs_ratio]
                        for c in result.candidates]))
    print(f"winner vs runner-up: {result.comparison.summary()}")
    if family is None:
        print(f"no family: stopped {result.stopped}")
        return data
    print(family.table())
    rows = []
    for m, b, c in family.comparisons():
        rows.append([f"{m.phi:g}", m.spec.resolution, m.macs, ratio(m.macs_ratio, m.ideal_ratio), m.latency_ms,
                     m.test_accuracy, b.width, ratio(b.macs, m.macs), b.latency_ms, b.test_accuracy,
                     ratio(m.test_accuracy, b.test_accuracy), ratio(m.latency_ms, b.latency_ms), c.mean_difference,
                     c.p_value])
    print(format_table(["phi", "px", "MACs", "derived/ideal", "lat ms", "test acc", "MNv2 width", "MNv2 MACs x",
                        "MNv2 lat ms", "MNv2 acc", "acc ours/MNv2", "lat ours/MNv2", "diff", "p"], rows))
    print(f"cost: grid {grid_train:.0f} s of training (sum over runs), family {family.cpu_seconds:.0f} CPU-s over "
          f"{len(family.members)} members and {len(family.baselines)} baselines x {len(grid.run_seeds())} seeds; "
          f"{wall:.0f} s wall on 2 Ray workers of 1 thread")
    return data


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None where either is missing or b is 0."""
    return None if a is None or not b else a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--datasets", default="digits,shapes")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--phis", type=lambda t: [float(v) for v in t.split(",")], default=[0.0, 1.0, 2.0, 3.0])
    parser.add_argument("--base-seed", type=int, default=0)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--zoo", help="a zoo network as the base instead of a sampled one")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    base = (replace(zoo.get(args.zoo), resolution=args.resolution) if args.zoo
            else found_base(args.base_seed, args.resolution))
    ensure_ray(2)
    print(f"base {base.name}: {base.to_string()}", flush=True)
    runs = [one(args, base, dataset) for dataset in args.datasets.split(",")]
    path = Path(args.out) / "family_truth.json"
    path.write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2) + "\n")
    command = " ".join(["python benchmarks/family_truth.py", *sys.argv[1:]])
    print(f"\nraw JSON: {path}\ncommand: {command}")


if __name__ == "__main__":
    main()
