"""Full-fidelity training throughput: the recipe loop (workers.training.fit) vs a bare PyTorch loop on the same
model and data.

    python benchmarks/train_recipe_throughput.py [--arch tiny] [--resolution 16] [--epochs 2] [--runs 3]
                                                 [--threads 1]

Both train the same seeded model on the same digits training tensors, same batch size, SGD with Nesterov
momentum, timed over their training steps only (``FullFitResult.train_seconds``; the per-epoch validation and
checkpoint are outside it). The bare loop is benchmarks/train_throughput.py's: shuffle by index, forward,
cross-entropy, zero_grad, backward, step. The recipe loop adds per step a scheduler step, the EMA update of the
weights, label smoothing and the (identity) augmentation call; "ours" runs it with augmentation off, so that the
ratio measures the loop, and "ours + aug" with the default augmentation (crop, flip, TrivialAugment), which shows
what the augmentation itself costs. Runs alternate after one discarded warm-up run. Goal: ours >= 0.9 x bare.

The headline is the median of the per-run (paired) ratios of images per wall-clock second; beside it the same
per CPU second of the training steps (``FullFitResult.train_cpu_seconds``), which other processes' load on a
shared machine moves far less than the wall clock.

``--bf16-steps N`` also times N bare training steps with and without bfloat16 autocast on the CPU (alternating,
after one warm-up step each): the figure behind the recipe's choice to use mixed precision on CUDA only.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from dataclasses import replace

import torch
from torch import nn
from train_throughput import bare_loop, tiny

import searchspace as ss
from searchspace import zoo
from workers.data import DatasetConfig
from workers.latency import cpu_model
from workers.training import FullFitResult, TrainBudget, TrainRecipe, build_seeded, fit


def bf16_slowdown(spec: ss.ArchSpec, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Median seconds per CPU training step with bfloat16 autocast over the median without it."""
    model = build_seeded(spec, 0).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(steps + 1):
        for amp in (False, True):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if i:
                times[amp].append(time.perf_counter() - start)
    return statistics.median(times[True]) / statistics.median(times[False])


def per_cpu_second(result: FullFitResult) -> float:
    """Training images per CPU second of a fit's training steps."""
    return result.images_per_second * result.train_seconds / result.train_cpu_seconds


def paired(ours: list[float], bare: list[float]) -> float:
    """The median of the per-run ratios ours / bare."""
    return statistics.median(o / b for o, b in zip(ours, bare, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="tiny", help="a zoo network name, or 'tiny'")
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--subset", type=float, default=1.0, help="fraction of digits used")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16-steps", type=int, default=0, help="also time bfloat16 autocast on the CPU")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    base = tiny() if args.arch == "tiny" else zoo.get(args.arch)
    spec = replace(base, resolution=args.resolution, in_chans=1, num_classes=10)
    dataset = DatasetConfig(subset=args.subset)
    data = dataset.load(spec.resolution, spec.in_chans)
    plain = TrainRecipe(epochs=args.epochs, resolution=args.resolution, batch_size=args.batch_size, lr=0.05,
                        crop_scale=1.0, flip=False, auto_augment="none", device="cpu")
    augmented = replace(plain, crop_scale=TrainRecipe().crop_scale, flip=True, auto_augment="trivialaugment")
    budget = TrainBudget(epochs=args.epochs, batch_size=args.batch_size, lr=0.05)

    ours, ours_aug, bare, ours_cpu, aug_cpu, bare_cpu = [], [], [], [], [], []
    for run in range(args.runs + 1):
        a = fit(spec, dataset, replace(plain, seed=run), threads=args.threads)
        b = fit(spec, dataset, replace(augmented, seed=run), threads=args.threads)
        c, c_cpu = bare_loop(spec, data, budget, seed=run)
        if run:  # run 0 warms up (allocator, oneDNN primitives, Kornia)
            ours.append(a.images_per_second)
            ours_aug.append(b.images_per_second)
            bare.append(c)
            ours_cpu.append(per_cpu_second(a))
            aug_cpu.append(per_cpu_second(b))
            bare_cpu.append(c_cpu)
            print(f"run {run}: ours {ours[-1]:7.1f} img/s   ours + aug {ours_aug[-1]:7.1f} img/s   "
                  f"bare {c:7.1f} img/s   ratio {ours[-1] / c:.3f} ({ours_aug[-1] / c:.3f} with augmentation); "
                  f"per CPU second {ours_cpu[-1] / c_cpu:.3f} ({aug_cpu[-1] / c_cpu:.3f})", flush=True)
    cost = ss.count(spec)
    ratio = paired(ours, bare)
    aug_ratio = paired(ours_aug, bare)
    cpu_ratio, aug_cpu_ratio = paired(ours_cpu, bare_cpu), paired(aug_cpu, bare_cpu)
    figures = {
        "command": "python benchmarks/train_recipe_throughput.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "arch": args.arch, "resolution": spec.resolution, "params": cost.params, "macs": cost.macs,
        "train_images": len(data.y_train), "epochs": args.epochs, "batch_size": args.batch_size, "runs": args.runs,
        "threads": args.threads, "cpu": cpu_model(), "torch": torch.__version__,
        "ours_median_ips": statistics.median(ours), "ours_aug_median_ips": statistics.median(ours_aug),
        "bare_median_ips": statistics.median(bare),
        "ratio_of_medians": statistics.median(ours) / statistics.median(bare),
        "ratio": ratio, "ratio_with_augmentation": aug_ratio, "cpu_ratio": cpu_ratio,
        "cpu_ratio_with_augmentation": aug_cpu_ratio,
        "per_run": {"ours": ours, "ours_aug": ours_aug, "bare": bare, "ours_cpu": ours_cpu,
                    "ours_aug_cpu": aug_cpu, "bare_cpu": bare_cpu},
    }
    print(f"\n$ {figures['command']}")
    print(f"{args.arch} @ {spec.resolution}px: {cost.params:,} params, {cost.macs / 1e6:.2f} M MACs; "
          f"{len(data.y_train)} digits training images, batch {args.batch_size}, {args.epochs} epoch(s), "
          f"{args.threads} thread(s), {cpu_model()}, torch {torch.__version__}")
    print(f"median of {args.runs} paired runs: recipe loop / bare loop = {ratio:.3f} (goal >= 0.9); with the "
          f"default augmentation (crop, flip, TrivialAugment) {aug_ratio:.3f}")
    print(f"per CPU second of the training steps (robust to other load on the machine): {cpu_ratio:.3f}; with the "
          f"default augmentation {aug_cpu_ratio:.3f}")
    if args.bf16_steps:
        slowdown = bf16_slowdown(spec, data.x_train[: args.batch_size], data.y_train[: args.batch_size],
                                 args.bf16_steps)
        figures["bf16_autocast_step_time_ratio"] = slowdown
        print(f"bfloat16 autocast on the CPU: {slowdown:.2f} x the float32 step time "
              f"(median of {args.bf16_steps} steps each)")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
