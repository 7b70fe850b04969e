"""What a supernet costs on the CPU: sandwich-rule training steps, and judging a sub-network with inherited weights.

    python benchmarks/supernet_cost.py [--seconds 60] [--epochs 1] [--candidates 20] [--threads 1]
                                       [--resolution 32]

Trains the supernet of the default proxy space (stages of mbconv/ghost/micro branches, kernels 3-7, expansions
1-6, SE off/on, three activations, widths 0.75-1.25x, depths base-1..base+1) on digits at ``--resolution`` for
``--epochs`` or, when ``--seconds`` is not 0, at most that many seconds of training (one sandwich step = the
largest, the smallest and 2 random sub-networks, forward and backward; per-epoch curves are printed), then judges ``--candidates`` random sub-networks: extract, build, load the inherited weights,
re-estimate batch norm on 512 training images, validate (360 images). Prints wall and CPU seconds per step
(the CPU seconds include loading digits once and building the supernet), per judged candidate (median, max),
the candidates' accuracies, and the largest output difference between the supernet's active path and the
extracted network on a validation batch.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import time
from dataclasses import replace

import torch

from searchspace.space import PROXY_SPACE
from searchspace.supernet import random_subnet
from workers.data import DatasetConfig
from workers.oneshot import (
    OneShotConfig,
    SupernetTraining,
    calibration_images,
    inherited_model,
    judge_subnet,
    load_resolutions,
    train_supernet,
)
from workers.training import TrainBudget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time cap (0: train every epoch)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--resolution", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = OneShotConfig(
        dataset=DatasetConfig(source="digits"),
        space=replace(PROXY_SPACE, resolutions=(args.resolution,)),
        training=SupernetTraining(budget=TrainBudget(epochs=args.epochs, batch_size=64, lr=0.1,
                                                     max_seconds=args.seconds or None, device="cpu")),
    )
    cpu = time.process_time()
    net, result = train_supernet(config, threads=args.threads)
    train_cpu = time.process_time() - cpu
    shaped = config.with_data_shape(10, 1)
    data = load_resolutions(shaped)[args.resolution]
    calibration = calibration_images(data, 512, 0)
    rng = random.Random(0)
    seconds, cpu_seconds, accuracies, worst = [], [], [], 0.0
    for _ in range(args.candidates):
        spec = random_subnet(shaped.space, rng)
        start, cpu = time.perf_counter(), time.process_time()
        accuracies.append(judge_subnet(net, spec, data, calibration, 64))
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu)
        net.set_active(spec)
        model = inherited_model(net, spec).eval()
        with torch.no_grad():
            worst = max(worst, float((net.eval()(data.x_val[:64]) - model(data.x_val[:64])).abs().max()))
    report = {
        "steps": result.steps,
        "epoch_losses": [round(v, 3) for v in result.epoch_losses],
        "epoch_distill_losses": [round(v, 3) for v in result.epoch_distill_losses],
        "largest_accuracies": [round(v, 3) for v in result.largest_accuracies],
        "smallest_accuracies": [round(v, 3) for v in result.smallest_accuracies],
        "train_seconds": round(result.train_seconds, 1),
        "seconds_per_step": round(result.train_seconds / max(1, result.steps), 3),
        "cpu_seconds_per_step": round(train_cpu / max(1, result.steps), 3),
        "judge_seconds_median": round(statistics.median(seconds), 3),
        "judge_seconds_max": round(max(seconds), 3),
        "judge_cpu_seconds_median": round(statistics.median(cpu_seconds), 3),
        "accuracy_min_median_max": [round(min(accuracies), 3), round(statistics.median(accuracies), 3),
                                    round(max(accuracies), 3)],
        "max_abs_output_difference": worst,
        "params": sum(p.numel() for p in net.parameters()),
    }
    print(json.dumps(report))
    print("command: python " + shlex.join(["benchmarks/supernet_cost.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
