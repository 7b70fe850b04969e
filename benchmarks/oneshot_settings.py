"""Which supernet training setting ranks sub-networks best? Kendall tau between inherited-weight and stand-alone
accuracy of the same 24 random sub-networks of a small space, one supernet per setting.

    python benchmarks/oneshot_settings.py [--dataset shapes] [--settings base,nodistill+e20,...]
        [--standalone-epochs 8]

The space is the one-shot tests' (2 stride-2 stages of mbconv / ghost / micro branches, 8-16 channels, kernels
3/5, expansions 1/3, SE off/on, depth 1-2, 12/16 px). 24 distinct random sub-networks (seeded) are trained
stand-alone once (TrainBudget of ``--standalone-epochs`` epochs, validation top-1; cached in
benchmarks/out/oneshot_settings-DATASET.json). Then for each setting a supernet is trained (5 sandwich epochs
unless the setting says ``eN``; one thread) and the 24 are judged with inherited weights (batch norm re-estimated
on 512 training images, validation top-1). A setting is ``+``-joined words: ``base``; ``eN`` (N epochs);
``nodistill`` (labels instead of the largest's soft predictions); ``kind`` / ``mixed`` (``sampling``); ``r4``
(4 random sub-networks a step); ``lr05`` (learning rate 0.05); ``xrand`` (``extreme_kinds`` random); ``adam``
(Adam at 3e-3); ``zero`` (every layer after a stage's first starts with its last batch norm's scale at 0, as
BigNAS initialises residual blocks). Prints per setting: Kendall, the median inherited accuracy, the largest's and
smallest's, and the supernet's training CPU-seconds.
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
from typing import Any

import torch

from searchspace.spec import ArchSpec
from searchspace.supernet import Supernet, random_subnet
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
from workers.search import rank_agreement
from workers.training import TrainBudget, train_and_evaluate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.proxy_truth import OUT
from tests.workers.test_oneshot import SPACE  # the small space the one-shot tests train (one definition)


def candidates(space: Any, n: int = 24, seed: int = 123) -> list[ArchSpec]:
    rng, found = random.Random(seed), {}
    while len(found) < n:
        spec = random_subnet(space, rng)
        found.setdefault(spec.to_string(), spec)
    return list(found.values())


def standalone(specs: list[ArchSpec], data: DatasetConfig, epochs: int) -> list[float]:
    cache = OUT / f"oneshot_settings-{Path(data.source).name}-{epochs}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    budget = TrainBudget(epochs=epochs, device="cpu")
    accuracies = [train_and_evaluate(s, data, budget, seed=0, threads=1).accuracy for s in specs]
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(accuracies) + "\n")
    return accuracies


def _zero_residual_scales(net: Supernet) -> None:
    """Every layer after a stage's first starts with its last batch norm's scale at 0 (its residual branch off)."""
    with torch.no_grad():
        for layers in net.stages:
            for layer in list(layers)[1:]:
                for kind, branch in layer.items():
                    parts = [branch.ghost2.primary_conv, branch.ghost2.cheap_operation] if kind == "ghost" \
                        else [branch.conv_pwl]
                    for part in parts:
                        part.bn.weight.zero_()


def training_for(setting: str) -> tuple[SupernetTraining, bool]:
    """The SupernetTraining a setting names, and whether it zeroes the residual scales."""
    budget = TrainBudget(epochs=5, batch_size=64, lr=0.1, bn_calibration=512, device="cpu")
    kw: dict[str, Any] = {}
    words = setting.split("+")
    for word in words:
        if word.startswith("e") and word[1:].isdigit():
            budget = replace(budget, epochs=int(word[1:]))
        elif word == "lr05":
            budget = replace(budget, lr=0.05)
        elif word == "adam":
            budget = replace(budget, optimizer="adam", lr=3e-3)
        elif word in ("kind", "mixed"):
            kw["sampling"] = word
        elif word == "r4":
            kw["random_subnets"] = 4
        elif word == "xrand":
            kw["extreme_kinds"] = "random"
        elif word == "nodistill":
            kw["distill"] = False
        elif word not in ("base", "zero"):
            raise SystemExit(f"unknown setting word {word!r}")
    return SupernetTraining(budget=budget, **kw), "zero" in words


def judge_setting(setting: str, data: DatasetConfig, specs: list[ArchSpec]) -> dict[str, Any]:
    training, zero = training_for(setting)
    config = OneShotConfig(dataset=data, space=SPACE, training=training, seed=5)
    original = Supernet.__init__
    if zero:
        def init(self: Supernet, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            _zero_residual_scales(self)
        Supernet.__init__ = init  # type: ignore[method-assign]
    try:
        start = time.process_time()
        net, result = train_supernet(config, threads=1)
        cpu = time.process_time() - start
    finally:
        Supernet.__init__ = original  # type: ignore[method-assign]
    info = data.validate()
    splits = load_resolutions(config.with_data_shape(info.num_classes, info.in_chans))
    inherited = [judge_subnet(net, s, splits[s.resolution], calibration_images(splits[s.resolution], 512, 0), 64)
                 for s in specs]
    return {"setting": setting, "inherited": inherited, "largest": result.largest_accuracies[-1],
            "smallest": result.smallest_accuracies[-1], "cpu_seconds": cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--settings", default="base,nodistill,kind,mixed,zero,r4,lr05,base+e20,nodistill+e20,"
                                              "mixed+e20")
    parser.add_argument("--standalone-epochs", type=int, default=8)
    args = parser.parse_args()
    command = "python benchmarks/oneshot_settings.py " + shlex.join(sys.argv[1:])
    torch.set_num_threads(1)
    data = DatasetConfig(source=args.dataset)
    info = data.validate()
    specs = candidates(replace(SPACE, num_classes=info.num_classes, in_chans=info.in_chans))
    full = standalone(specs, data, args.standalone_epochs)
    rows, raw = [], []
    for setting in args.settings.split(","):
        r = judge_setting(setting, data, specs)
        raw.append(r)
        a = rank_agreement(r["inherited"], full)
        rows.append([setting, a.kendall, a.kendall_p, statistics.median(r["inherited"]), r["largest"], r["smallest"],
                     r["cpu_seconds"]])
        print(format_table(["setting", "Kendall", "p", "median inherited", "largest", "smallest", "CPU-s"],
                           rows[-1:]), flush=True)
    (OUT / f"oneshot_settings-{Path(data.source).name}-runs.json").write_text(
        json.dumps({"command": command, "standalone": full, "runs": raw}, indent=2) + "\n")
    print(f"\n{args.dataset}: 24 random sub-networks, stand-alone median {statistics.median(full):.3f} "
          f"({min(full):.3f}-{max(full):.3f})")
    print(format_table(["setting", "Kendall", "p", "median inherited", "largest", "smallest", "CPU-s"], rows))
    print(f"command: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
