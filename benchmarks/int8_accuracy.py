"""int8 accuracy beside float: the full-fidelity run's selected weights quantized by ONNX Runtime (the recipe's
``int8``: static QDQ, calibrated on 256 un-augmented training images) and scored on the same test split.

``--n`` random networks of the default proxy space (seed ``--seed``) are trained by ``workers.training.fit`` with a
short recipe on each dataset of ``--datasets``; for each it prints the float test accuracy (PyTorch), the int8
test accuracy (ONNX Runtime) and their difference, and the seconds the int8 step took (export, calibration,
quantization, scoring) beside the training's.

    python benchmarks/int8_accuracy.py --n 4 --datasets digits,shapes --epochs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from searchspace.space import PROXY_SPACE
from workers.data import DatasetConfig
from workers.latency import sample_specs
from workers.training import TrainRecipe, fit
from workers.training.fullfit import with_int8


def run(dataset: str, n: int, seed: int, epochs: int, resolution: int, threads: int) -> list[dict[str, Any]]:
    data = DatasetConfig(source=dataset)
    info = data.validate()
    space = replace(PROXY_SPACE, num_classes=info.num_classes, in_chans=info.in_chans, resolutions=(resolution,))
    recipe = TrainRecipe(epochs=epochs, resolution=resolution, int8=False)
    rows = []
    for spec in sample_specs(space, n, seed):
        start = time.perf_counter()
        result = fit(spec, data, recipe, threads=threads)
        trained = time.perf_counter() - start
        split = data.load(result.spec.resolution, result.spec.in_chans, test=True)
        start = time.perf_counter()
        int8 = with_int8(result, split)
        rows.append({"dataset": dataset, "spec": result.spec.to_string(), "test_accuracy": result.test_accuracy,
                     "int8_test_accuracy": int8.int8_test_accuracy, "int8_error": int8.int8_error,
                     "test_size": result.test_size, "train_s": trained, "int8_s": time.perf_counter() - start})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4, help="random networks per dataset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--datasets", default="digits,shapes")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args(argv)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    rows = [r for d in args.datasets.split(",") for r in run(d, args.n, args.seed, args.epochs, args.resolution,
                                                             args.threads)]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"command: {' '.join(sys.argv)}  ({os.cpu_count()} logical CPUs; load {load} before)")
    print(f"{'dataset':8} {'float acc':>9} {'int8 acc':>9} {'int8-float':>10} {'train s':>8} {'int8 s':>7}  network")
    for r in rows:
        int8 = r["int8_test_accuracy"]
        print(f"{r['dataset']:8} {r['test_accuracy']:>9.4f} "
              + (f"{int8:>9.4f} {int8 - r['test_accuracy']:>+10.4f}" if int8 is not None else f"{'failed':>20}")
              + f" {r['train_s']:>8.1f} {r['int8_s']:>7.1f}  {r['spec'][:70]}")
    done = [r for r in rows if r["int8_test_accuracy"] is not None]
    if done:
        diffs = [r["int8_test_accuracy"] - r["test_accuracy"] for r in done]
        print(f"{len(done)} of {len(rows)} quantized; int8 - float: median {statistics.median(diffs):+.4f}, "
              f"worst {min(diffs):+.4f}; int8 step median {statistics.median(r['int8_s'] for r in done):.1f} s "
              f"(training median {statistics.median(r['train_s'] for r in done):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
