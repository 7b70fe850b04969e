"""A worker's measured latency against the one definition: ``LatencyConfig.loop`` (``scaled``: passes beside a
reference network, each scaled by the node's reference level; ``plain``: the runtime's benchmark loop in the worker)
against ``python -m workers measure`` in a fresh process (the yardstick, ``workers.latency.plain``).

``--n`` random networks of the default proxy space (digits: 1 channel, 10 classes; seed ``--seed``), eager PyTorch,
1 thread, default initialisation (``workers measure`` builds the same spec): each is timed by the worker's code
(``workers.training.evaluation.measured``, the function a trial's latency comes from) with the default
LatencyConfig but for ``loop``, once per loop, in this process, and by the measure command in its own process. The
measure command times every network again at the end: that self-agreement (start vs end) is the ceiling any loop
reaches here while the machine drifts. It prints, per loop, the share of networks within +-10% of the yardstick,
the median absolute error and the median of loop / yardstick.

    python benchmarks/latency_loops.py --n 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from latency_user import (  # the yardstick and its statistics, as latency_user.py uses them
    _load,
    agreement,
    measure,
)

from searchspace.builder import build
from searchspace.space import PROXY_SPACE
from workers.latency import LatencyConfig, sample_specs
from workers.latency.config import LOOPS
from workers.training.evaluation import measured

SPACE = replace(PROXY_SPACE, num_classes=10, in_chans=1)


def run(n: int, seed: int, work: Path) -> dict[str, Any]:
    specs = sample_specs(SPACE, n, seed)
    paths = []
    for i, spec in enumerate(specs):
        paths.append(work / f"net{seed}-{i}.json")
        paths[-1].write_text(spec.to_json())
    load_before = _load()
    start = [measure(path, "eager", 1) for path in paths]
    loops: dict[str, list[float]] = {loop: [] for loop in LOOPS}
    for spec in specs:
        model = build(spec)
        for loop in LOOPS:
            loops[loop].append(measured(spec, model, LatencyConfig(loop=loop)).median_ms)
    end = [measure(path, "eager", 1) for path in paths]
    return {"n": n, "seed": seed, "load_before": load_before, "load_after": _load(),
            "self_agreement": agreement(start, end),
            "loops": {loop: agreement(ms, start) for loop, ms in loops.items()},
            "rows": [{"spec": s.to_string(), "measure_ms": a, "measure_end_ms": b,
                      **{f"{loop}_ms": loops[loop][i] for loop in LOOPS}}
                     for i, (s, a, b) in enumerate(zip(specs, start, end, strict=True))]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10, help="random networks")
    p.add_argument("--seed", type=int, default=2000, help="seed of the networks")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="latency-loops-") as tmp:
        os.environ["NAS_CPU_LOCK_DIR"] = tmp  # the reference level the scaled loop times is kept there, not shared
        result = run(args.n, args.seed, Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"command: {' '.join(sys.argv)}  ({os.cpu_count()} logical CPUs; load {result['load_before']} before, "
          f"{result['load_after']} after)")
    print(f"{args.n} random networks of the proxy space, eager, 1 thread; yardstick: python -m workers measure in a "
          "fresh process")
    print(f"{'':28} {'within 10%':>10} {'median |err|':>12} {'loop / measure':>14}")
    rows = [("self-agreement (start/end)", result["self_agreement"])]
    rows += [(f"loop {loop}", figures) for loop, figures in result["loops"].items()]
    for name, a in rows:
        print(f"{name:28} {a['within_10pct']:>10.0%} {a['median_abs_error']:>12.1%} {a['median_ratio']:>14.3f}")
    for row in result["rows"]:
        print("  " + "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k.endswith("_ms")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
