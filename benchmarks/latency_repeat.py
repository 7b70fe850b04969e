"""How well a whole-network timing agrees with itself: the same random specs timed twice, by two protocols.

Each protocol times ``--n`` random specs of the default space (seed ``--seed``) in one chunk, with the reference
networks in every round (``workers.latency.timing.Timer``), then again; the share of specs whose two readings agree
within +-10% and +-5% and the median difference are printed for both, beside their ratio. The default
protocols are this profiler's before and after issue 11's second pass: 40 rounds of 5 passes with the 5%
quantile, and 200 rounds of 1 pass with the median (both take 200 passes per spec).

    python benchmarks/latency_repeat.py --runtime eager --n 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace

from searchspace.space import PROXY_SPACE
from workers.latency import Timer, Timing, sample_specs

SPACE = PROXY_SPACE.__class__.from_dict({**PROXY_SPACE.to_dict(), "num_classes": 10, "in_chans": 1})  # digits
PROTOCOLS = {"40 rounds x 5, quantile 0.05": Timing(rounds=40, repeats=5, quantile=0.05),
             "200 rounds x 1, median": Timing(rounds=200, repeats=1, quantile=0.5)}


def agreement(first: list[float], second: list[float]) -> dict[str, float]:
    """Within 10% and 5%, and the median relative difference, of two readings of the same networks."""
    diffs = [abs(a / b - 1) for a, b in zip(first, second, strict=True)]
    return {"within_10pct": sum(d <= 0.10 for d in diffs) / len(diffs),
            "within_5pct": sum(d <= 0.05 for d in diffs) / len(diffs), "median_diff": statistics.median(diffs)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50, help="specs (one chunk: at most 50)")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--runtime", choices=("eager", "onnxruntime"), default="eager")
    args = p.parse_args(argv)
    specs = sample_specs(SPACE, args.n, args.seed)
    found = {}
    for name, timing in PROTOCOLS.items():
        timing = replace(timing, runtime=args.runtime)
        start = time.perf_counter()
        timer = Timer(timing)  # both readings at the first chunk's reference level, networks built anew each time
        readings = [[e.ms for e in timer.networks(specs)] for _ in range(2)]
        found[name] = {**agreement(*readings), "seconds": time.perf_counter() - start}
    print(f"command: {' '.join(sys.argv)}")
    print(f"{args.n} specs, {args.runtime}, each timed twice per protocol")
    print(f"{'protocol':32} {'within 10%':>11} {'within 5%':>10} {'median diff':>12} {'seconds':>8}")
    for name, q in found.items():
        print(f"{name:32} {q['within_10pct']:>11.1%} {q['within_5pct']:>10.1%} {q['median_diff']:>12.2%} "
              f"{q['seconds']:>8.0f}")
    before, after = (found[name]["median_diff"] for name in PROTOCOLS)
    print(f"median difference, before / after: {before / after:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
