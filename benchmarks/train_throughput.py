"""Proxy-training throughput: workers.training's loop vs a bare PyTorch loop on the same model and data.

    python benchmarks/train_throughput.py [--arch efficientnet_b0] [--resolution 32] [--runs 5] [--threads 1]
                                          [--device cpu|cuda]

Both loops train the same seeded model (``--arch``: a zoo network or ``tiny``, adapted to digits' 10 classes
and the given resolution) on the same digits tensors with the same batch size and SGD, and are timed over
their training steps only. The bare loop is what a minimal hand-written loop does per step: shuffle by index,
forward, cross-entropy, zero_grad, backward, step. Ours adds a cosine learning rate per step, a running loss,
a time-budget check, BN calibration and a validation pass per epoch (the last two are not training steps and
are reported separately). Runs alternate (ours, bare, ours, bare, ...) after one discarded warm-up run of each,
so that background load hits both alike. Goal: ours >= 0.95 x bare.
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

import searchspace as ss
from searchspace import zoo
from searchspace.blocks import MBConvSpec
from workers.data import DatasetConfig, SplitData
from workers.latency import cpu_model
from workers.training import TrainBudget, build_seeded, train_and_evaluate


def tiny() -> ss.ArchSpec:
    """Three MBConv stages, 16-32 channels: a model whose step is short, so per-step overhead shows most."""
    return ss.ArchSpec(
        stem=ss.StemSpec(out_chs=16, stride=1),
        stages=(ss.StageSpec(block=MBConvSpec(out_chs=16)),
                ss.StageSpec(block=MBConvSpec(out_chs=24, stride=2, expansion=3, se_ratio=0.25)),
                ss.StageSpec(block=MBConvSpec(out_chs=32, stride=2, expansion=3, act="swish"))),
        head=ss.HeadSpec(),
    )


def bare_loop(spec: ss.ArchSpec, data: SplitData, budget: TrainBudget, seed: int,
              device: str = "cpu") -> tuple[float, float]:
    """Images per wall-clock second and per CPU second of a minimal PyTorch training loop (data on ``device``)."""
    model = build_seeded(spec, seed).train().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=budget.lr, momentum=budget.momentum, nesterov=True,
                                weight_decay=budget.weight_decay)
    criterion = nn.CrossEntropyLoss()
    x, y = data.x_train.to(device), data.y_train.to(device)
    n, batch = len(y), budget.batch_size
    steps = n // batch
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    elapsed = cpu = 0.0
    for _ in range(budget.epochs):
        perm = torch.randperm(n, generator=generator).to(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(steps):
            idx = perm[i * batch:(i + 1) * batch]
            loss = criterion(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
    images = budget.epochs * steps * batch
    return images / elapsed, images / cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="efficientnet_b0", help="a zoo network name, or 'tiny'")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--in-chans", type=int, default=3)
    parser.add_argument("--subset", type=float, default=1.0, help="fraction of digits used")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where both loops train")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    base = tiny() if args.arch == "tiny" else zoo.get(args.arch)
    spec = replace(base, resolution=args.resolution, in_chans=args.in_chans, num_classes=10)
    data = DatasetConfig(subset=args.subset).load(spec.resolution, spec.in_chans)
    budget = TrainBudget(epochs=args.epochs, batch_size=args.batch_size, lr=0.05, device=args.device)
    cost = ss.count(spec)

    ours, bare, ours_cpu, bare_cpu, overhead = [], [], [], [], []
    for run in range(args.runs + 1):
        result = train_and_evaluate(spec, data, budget, seed=run, threads=args.threads)
        bare_ips, bare_cpu_ips = bare_loop(spec, data, budget, seed=run, device=args.device)
        if run:  # run 0 warms up both (allocator, oneDNN primitives)
            ours.append(result.images_per_second)
            ours_cpu.append(result.images_seen / result.train_cpu_seconds)
            bare.append(bare_ips)
            bare_cpu.append(bare_cpu_ips)
            overhead.append(result.eval_seconds / result.train_seconds)
            print(f"run {run}: ours {ours[-1]:8.1f} img/s ({ours_cpu[-1]:8.1f} per CPU s)   "
                  f"bare {bare[-1]:8.1f} img/s ({bare_cpu[-1]:8.1f} per CPU s)   ratio {ours[-1] / bare[-1]:.3f}",
                  flush=True)
    ratio = statistics.median(ours) / statistics.median(bare)
    cpu_ratio = statistics.median(ours_cpu) / statistics.median(bare_cpu)
    paired = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
    figures = {
        "command": "python benchmarks/train_throughput.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "arch": args.arch, "resolution": spec.resolution, "in_chans": spec.in_chans, "params": cost.params,
        "macs": cost.macs, "train_images": len(data.y_train), "epochs": args.epochs, "batch_size": args.batch_size,
        "runs": args.runs, "threads": args.threads, "device": args.device, "cpu": cpu_model(),
        "torch": torch.__version__,
        "ours_median_ips": statistics.median(ours), "bare_median_ips": statistics.median(bare), "ratio": ratio, "median_paired_ratio": paired,
        "ours_median_ips_per_cpu_second": statistics.median(ours_cpu),
        "bare_median_ips_per_cpu_second": statistics.median(bare_cpu), "cpu_ratio": cpu_ratio,
        "validation_over_train_time": statistics.median(overhead),
    }
    print(f"\n$ {figures['command']}")
    print(f"{args.arch} @ {spec.resolution}px x{spec.in_chans}: {cost.params:,} params, {cost.macs / 1e6:.1f} M MACs; "
          f"{len(data.y_train)} digits training images, batch {args.batch_size}, {args.epochs} epoch(s), "
          f"{args.threads} thread(s), {cpu_model()}, torch {torch.__version__}")
    print(f"median over {args.runs} runs: ours {figures['ours_median_ips']:.1f} img/s, "
          f"bare {figures['bare_median_ips']:.1f} img/s, ratio {ratio:.3f} (goal >= 0.95); "
          f"median of the per-run ratios {paired:.3f}")
    print(f"per CPU second (robust to other load on the machine): ours "
          f"{figures['ours_median_ips_per_cpu_second']:.1f}, bare {figures['bare_median_ips_per_cpu_second']:.1f}, "
          f"ratio {cpu_ratio:.3f}")
    print(f"BN calibration + validation per epoch add {figures['validation_over_train_time']:.1%} of the "
          "training time (outside the training steps)")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
