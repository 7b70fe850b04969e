"""Analytic count vs fvcore on every zoo network: median seconds per network for each, and the ratio.

    python benchmarks/count_speed.py [--repeats 5] [--names efficientnet_b0,...]

fvcore is timed on an already built module (the build is not charged to it); ours starts from the spec.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time

import torch

import searchspace as ss
from searchspace import zoo
from searchspace.table import format_table


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fvcore(model: torch.nn.Module, spec: ss.ArchSpec):
    from fvcore.nn import FlopCountAnalysis

    def run() -> int:
        fca = FlopCountAnalysis(model, torch.zeros(1, spec.in_chans, spec.resolution, spec.resolution))
        fca.set_op_handle("aten::batch_norm", lambda i, o: 0, "aten::adaptive_avg_pool2d", lambda i, o: 0)
        fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return fca.total()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--names", default=",".join(zoo.names()))
    args = parser.parse_args()
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    rows, ratios, ours_all = [], [], []
    for name in args.names.split(","):
        spec = zoo.get(name)
        model = ss.build(spec).eval()
        ours = _median_seconds(lambda spec=spec: ss.count(spec), args.repeats * 20)
        theirs = _median_seconds(_fvcore(model, spec), args.repeats)
        ratios.append(theirs / ours)
        ours_all.append(ours)
        rows.append([name, ours * 1e3, theirs * 1e3, round(theirs / ours)])
    print(format_table(["network", "ours ms", "fvcore ms", "fvcore/ours"], rows))
    print(f"\nmedian ours: {statistics.median(ours_all) * 1e3:.3f} ms/network, max {max(ours_all) * 1e3:.3f} ms; "
          f"median speed-up over fvcore: {statistics.median(ratios):,.0f}x (min {min(ratios):,.0f}x)")
    print("command: " + " ".join([sys.executable.split("/")[-1], *sys.argv]))


if __name__ == "__main__":
    main()
