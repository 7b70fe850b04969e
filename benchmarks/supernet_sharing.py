"""Which choices of the default proxy space does the supernet share well? One supernet per variant of the space
(one choice elastic, or one block kind with every choice elastic, ...), then the inherited-weight accuracy of
random sub-networks of that variant.

    python benchmarks/supernet_sharing.py [--dataset digits] [--variants full,mbconv,kinds,...] [--epochs 5]
        [--resolution 16] [--subnets 12] [--progressive 0]

A variant names the choices left elastic; every other choice is fixed at the largest option (kind mbconv, kernel
7, expansion 6, SE 0.25, activation swish, depth +1, width 1.25): ``full`` (the whole space), ``kernels``,
``expansions``, ``widths``, ``depths``, ``kinds`` (one choice each), ``mbconv`` / ``ghost`` / ``micro`` /
``mbconv+ghost`` (those kinds only, every other choice elastic), ``fixact`` / ``fixse`` (the whole space but
the activation or the SE ratio). Each variant's supernet trains by the sandwich rule for ``--epochs`` (batch
64, learning rate 0.1, one thread, seed 0), then ``--subnets`` random sub-networks of the variant (seeded) are
judged with inherited weights (batch norm re-estimated on 512 training images, validation top-1). Prints per
variant: the largest's and the smallest's accuracy after training, the random ones' median, minimum and maximum,
the last epoch's distillation loss and the training CPU-seconds. Raw results: benchmarks/out/supernet_sharing.json.
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
from pathlib import Path

from searchspace.space import PROXY_SPACE, SearchSpace
from searchspace.supernet import random_subnet
from searchspace.table import format_table
from workers import oneshot
from workers.data import DatasetConfig
from workers.training import TrainBudget

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.proxy_truth import OUT

# Every choice at the largest option: what a variant does not name stays fixed here.
FIXED = {"kinds": ("mbconv",), "kernels": (7,), "expansions": (6.0,), "se_ratios": (0.25,), "acts": ("swish",),
         "repeat_deltas": (1,), "width_factors": (1.25,)}
ONE_CHOICE = {"kernels": "kernels", "expansions": "expansions", "widths": "width_factors",
              "depths": "repeat_deltas", "kinds": "kinds"}


def variant_space(name: str, base: SearchSpace) -> SearchSpace:
    """``base`` with the choices the variant ``name`` fixes (see the module docstring)."""
    if name == "full":
        return base
    if name in ONE_CHOICE:
        return base.with_choices(**{k: v for k, v in FIXED.items() if k != ONE_CHOICE[name]})
    if name == "fixact":
        return base.with_choices(acts=FIXED["acts"])
    if name == "fixse":
        return base.with_choices(se_ratios=FIXED["se_ratios"])
    kinds = tuple(name.split("+"))
    if not set(kinds) <= {"mbconv", "ghost", "micro"}:
        raise SystemExit(f"unknown variant {name!r}")
    return base.with_choices(kinds=kinds)


def one_variant(name: str, data: DatasetConfig, args: argparse.Namespace) -> dict:
    budget = TrainBudget(epochs=args.epochs, batch_size=64, lr=0.1, bn_calibration=512, device="cpu")
    space = variant_space(name, replace(PROXY_SPACE, resolutions=(args.resolution,)))
    training = oneshot.SupernetTraining(budget=budget, progressive=args.progressive)
    config = oneshot.OneShotConfig(dataset=data, space=space, training=training, seed=0)
    info = data.validate()
    config = config.with_data_shape(info.num_classes, info.in_chans)
    start = time.process_time()
    net, result = oneshot.train_supernet(config, threads=1)
    cpu = time.process_time() - start
    split = oneshot.load_resolutions(config)[args.resolution]
    calibration = oneshot.calibration_images(split, 512, 0)
    rng = random.Random(7)
    accuracies = [oneshot.judge_subnet(net, random_subnet(config.space, rng), split, calibration, 64)
                  for _ in range(args.subnets)]
    return {"variant": name, "largest": result.largest_accuracies[-1], "smallest": result.smallest_accuracies[-1],
            "random": accuracies, "distill_loss": result.epoch_distill_losses[-1], "cpu_seconds": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--variants", default="full,kernels,expansions,widths,depths,kinds,mbconv,mbconv+ghost,"
                                              "micro,fixact,fixse")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--subnets", type=int, default=12)
    parser.add_argument("--progressive", type=float, default=0.0)
    args = parser.parse_args()
    command = "python benchmarks/supernet_sharing.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    data = DatasetConfig(source=args.dataset)
    header = ["variant", "largest", "smallest", "random median", "random min", "random max", "distill loss",
              "train CPU-s"]
    rows, raw = [], []
    for name in args.variants.split(","):
        r = one_variant(name, data, args)
        raw.append(r)
        rows.append([name, r["largest"], r["smallest"], statistics.median(r["random"]), min(r["random"]),
                     max(r["random"]), r["distill_loss"], r["cpu_seconds"]])
        print(format_table(header, rows[-1:]), flush=True)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "supernet_sharing.json").write_text(json.dumps({"command": command, "runs": raw}, indent=2) + "\n")
    print(f"\n{args.dataset}, {args.epochs} sandwich epochs at {args.resolution} px, {args.subnets} random "
          "sub-networks per variant:")
    print(format_table(header, rows))
    print(f"command: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
