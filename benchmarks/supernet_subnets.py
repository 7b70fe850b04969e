"""How well the supernet's sub-networks are trained: inherited-weight accuracy of the extremes and of random ones.

    python benchmarks/supernet_subnets.py [--epochs 3] [--extreme-kinds macs|random]
                                          [--sampling uniform|kind|mixed] [--random-subnets 2] [--threads 1]

Trains a small supernet (2 stride-2 stages of mbconv / ghost / micro branches, 8-16 channels, kernels 3/5,
expansions 1/3, SE off/on, depth 1-2, resolutions 12/16) on digits for ``--epochs`` by the sandwich rule, then
judges with inherited weights (batch norm re-estimated on 512 training images, validation top-1): the largest
and the smallest sub-networks (3 draws each: the activation is random), 12 random sub-networks of the whole
space, and 5 random sub-networks with every stage of one kind, per kind. Prints the per-epoch curves and the
accuracies, lowest first.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from pathlib import Path

from searchspace.spec import ArchSpec
from searchspace.supernet import Supernet, extreme_subnet, random_subnet
from workers.data import DatasetConfig, SplitData
from workers.oneshot import (
    OneShotConfig,
    SupernetTraining,
    calibration_images,
    judge_subnet,
    load_resolutions,
    train_supernet,
)
from workers.training import TrainBudget

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.workers.test_oneshot import SPACE  # the small space the one-shot tests train (one definition)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--extreme-kinds", default="macs", choices=("macs", "random"))
    parser.add_argument("--sampling", default="uniform", choices=("uniform", "kind", "mixed"))
    parser.add_argument("--random-subnets", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    training = SupernetTraining(
        budget=TrainBudget(epochs=args.epochs, batch_size=64, lr=0.1, bn_calibration=512, device="cpu"),
        extreme_kinds=args.extreme_kinds, sampling=args.sampling, random_subnets=args.random_subnets)
    config = OneShotConfig(dataset=DatasetConfig(source="digits"), space=SPACE, training=training, seed=5)
    net, result = train_supernet(config, threads=args.threads)
    shaped = config.with_data_shape(10, 1)
    data = load_resolutions(shaped)
    rng = random.Random(0)
    space = shaped.space
    report = {
        "epoch_losses": _rounded(result.epoch_losses),
        "epoch_distill_losses": _rounded(result.epoch_distill_losses),
        "largest_accuracies": _rounded(result.largest_accuracies),
        "smallest_accuracies": _rounded(result.smallest_accuracies),
        "largest": [_judge(net, extreme_subnet(space, True, rng), data) for _ in range(3)],
        "smallest": [_judge(net, extreme_subnet(space, False, rng), data) for _ in range(3)],
        "random": sorted(_judge(net, random_subnet(space, rng), data) for _ in range(12)),
        "train_cpu_seconds": round(result.cpu_seconds, 1),
    }
    for kind in ("mbconv", "ghost", "micro"):
        one = space.with_choices(kinds=(kind,))
        report[f"random_{kind}"] = sorted(_judge(net, random_subnet(one, rng), data) for _ in range(5))
    print(json.dumps(report))
    print("command: python " + shlex.join(["benchmarks/supernet_subnets.py", *sys.argv[1:]]))


def _judge(net: Supernet, spec: ArchSpec, data: dict[int, SplitData]) -> float:
    split = data[spec.resolution]
    return round(judge_subnet(net, spec, split, calibration_images(split, 512, 0), 64), 3)


def _rounded(values: tuple[float, ...]) -> list[float]:
    return [round(v, 3) for v in values]


if __name__ == "__main__":
    main()
