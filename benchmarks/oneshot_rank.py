"""Does a supernet's inherited-weight accuracy rank sub-networks as stand-alone training does? Kendall tau per
dataset between the two, over random sub-networks of the default proxy space.

    python benchmarks/oneshot_rank.py [--datasets digits,shapes,textures] [--candidates 20] [--epochs 10]
        [--resolution 16] [--full-epochs 10] [--sampling uniform] [--random-subnets 2] [--progressive P] [--kinds mbconv,ghost,micro] [--workers 2] [--seed 0]
        [--tag NAME]

Per dataset: the supernet of the default proxy space (every stage: mbconv / ghost / micro branches, kernels 3-7,
expansions 1-6, SE off/on, three activations, widths 0.75-1.25x, depths base-1..base+1) at ``--resolution`` is
trained by the sandwich rule for ``--epochs`` (checkpointed under benchmarks/out/oneshot_rank/, so a stopped run
resumes), then ``--candidates`` distinct random sub-networks (seeded, the same Optuna draw the proxy check uses)
are judged with inherited weights (batch norm re-estimated on 512 training images, validation top-1), and each is
trained stand-alone at full fidelity (the default TrainRecipe, ``--full-epochs`` epochs at ``--resolution``;
test top-1) as Ray tasks of one CPU. Prints, per dataset, both accuracies per sub-network, Spearman and Kendall
with their p-values, and the CPU-seconds of each part; the raw results go to
benchmarks/out/oneshot_rank[-TAG].json after every dataset. Goal (issue 28): Kendall >= 0.5 on every dataset.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from searchspace.space import PROXY_SPACE
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.oneshot import (
    OneShotConfig,
    SupernetTraining,
    calibration_images,
    judge_subnet,
    load_resolutions,
    train_supernet,
)
from workers.runtime import Evaluated, RayExecutor, Task, run_batch
from workers.search import rank_agreement
from workers.search.proxy_check import full_train, sample_candidates
from workers.training import TrainBudget, TrainRecipe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.proxy_truth import OUT, make_textures  # the third dataset, generated once (one definition)


def dataset(source: str) -> DatasetConfig:
    return DatasetConfig(source=str(make_textures(OUT / "textures")) if source == "textures" else source)


def supernet_config(source: str, args: argparse.Namespace) -> OneShotConfig:
    budget = TrainBudget(epochs=args.epochs, batch_size=64, lr=args.lr, bn_calibration=512, device="cpu")
    training = SupernetTraining(budget=budget, sampling=args.sampling, random_subnets=args.random_subnets,
                                progressive=args.progressive)
    space = replace(PROXY_SPACE, resolutions=(args.resolution,)).with_choices(kinds=tuple(args.kinds.split(",")))
    return OneShotConfig(dataset=dataset(source), space=space, training=training, seed=args.seed)


def full_accuracies(keys: list[str], data: DatasetConfig, recipe: TrainRecipe, workers: int) -> tuple[list, float]:
    """Stand-alone test accuracies (None where a training failed) and their CPU-seconds."""
    found: dict[int, float] = {}
    spent = [0.0]

    def done(task: Task, evaluated: Evaluated) -> None:
        spent[0] += float(evaluated.measured.get("cpu_seconds") or 0.0)
        if evaluated.error is None:
            found[task.item] = float(evaluated.measured["accuracy"])
        else:
            print(f"candidate {task.item}: {evaluated.error[:300]}", flush=True)

    executor = RayExecutor(1, workers, dataset=data)
    run_batch([Task(full_train, (key, data, recipe, 1), i) for i, key in enumerate(keys)], executor, workers, done)
    return [found.get(i) for i in range(len(keys))], spent[0]


def one_dataset(source: str, args: argparse.Namespace) -> dict:
    config = supernet_config(source, args)
    info = config.dataset.validate()
    shaped = config.with_data_shape(info.num_classes, info.in_chans)
    checkpoint = OUT / "oneshot_rank" / f"{source}-{args.tag or 'default'}.supernet.pt"
    start = time.process_time()
    net, result = train_supernet(config, checkpoint, threads=args.workers)
    specs = sample_candidates(shaped.space, args.candidates, args.seed)
    split = load_resolutions(shaped)[args.resolution]
    calibration = calibration_images(split, 512, args.seed)
    began = time.process_time()
    inherited = [judge_subnet(net, spec, split, calibration, 64) for spec in specs]
    judge_cpu = time.process_time() - began
    recipe = TrainRecipe(epochs=args.full_epochs, resolution=args.resolution)
    keys = [s.to_string() for s in specs]
    full, full_cpu = full_accuracies(keys, config.dataset, recipe, args.workers)
    pairs = [(i, f) for i, f in zip(inherited, full, strict=True) if f is not None]
    agreement = rank_agreement(*zip(*pairs, strict=True))
    return {"dataset": source, "supernet": result.to_dict(), "supernet_cpu_seconds": result.cpu_seconds,
            "judge_cpu_seconds": judge_cpu, "judge_cpu_per_candidate": judge_cpu / len(specs),
            "full_cpu_seconds": full_cpu, "script_cpu_seconds": time.process_time() - start,
            "candidates": keys, "inherited": inherited, "full": full, "agreement": agreement.to_dict()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,shapes,textures")
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10, help="supernet training epochs")
    parser.add_argument("--lr", type=float, default=0.1, help="supernet peak learning rate")
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--kinds", default="mbconv,ghost,micro", help="block kinds of every stage of the space")
    parser.add_argument("--full-epochs", type=int, default=10, help="stand-alone training epochs")
    parser.add_argument("--sampling", default="uniform", choices=("uniform", "kind", "mixed"))
    parser.add_argument("--random-subnets", type=int, default=2)
    parser.add_argument("--progressive", type=float, default=SupernetTraining().progressive)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="", help="names the output file and the checkpoints")
    args = parser.parse_args()
    command = "python benchmarks/oneshot_rank.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    from workers.runtime import ensure_ray

    ensure_ray(args.workers)
    out = OUT / f"oneshot_rank{'-' + args.tag if args.tag else ''}.json"
    results = {"command": command, "datasets": {}}
    rows = []
    for source in args.datasets.split(","):
        r = one_dataset(source, args)
        results["datasets"][source] = r
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        order = sorted(range(len(r["inherited"])), key=lambda i: r["inherited"][i])
        print(f"\n{source}: supernet {r['supernet']['epochs_run']} epochs, largest "
              f"{r['supernet']['largest_accuracies'][-1]:.3f}, smallest {r['supernet']['smallest_accuracies'][-1]:.3f}")
        print(format_table(["candidate", "inherited (val)", "stand-alone (test)"],
                           [[i, r["inherited"][i], r["full"][i]] for i in order]))
        a = r["agreement"]
        rows.append([source, a["n"], a["kendall"], a["kendall_p"], a["spearman"], r["supernet_cpu_seconds"],
                     r["judge_cpu_per_candidate"], r["full_cpu_seconds"] / max(1, len(r["full"]))])
        print(format_table(["dataset", "n", "Kendall", "p", "Spearman", "supernet CPU-s", "judge CPU-s/cand",
                            "stand-alone CPU-s/cand"], rows[-1:]), flush=True)
    print("\nall datasets:")
    print(format_table(["dataset", "n", "Kendall", "p", "Spearman", "supernet CPU-s", "judge CPU-s/cand",
                        "stand-alone CPU-s/cand"], rows))
    print("goal: Kendall >= 0.5 on every dataset")
    print(f"command: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
