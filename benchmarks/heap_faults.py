"""Page faults per forward pass, and speed, with glibc's heap as it comes vs held (``workers.latency.heap``).

The reference networks and the noise benchmark's 5 architectures (``benchmarks/latency_noise.py``), eager
PyTorch, 1 thread, timed in child processes that alternate between the two heaps (``--pairs`` of each, so the
host's drift falls on both): each child warms every network up, then times ``--rounds`` interleaved single
passes and counts the minor page faults during each. It prints per network the faults per pass and the median
ms under each heap, and their ratio.

    python benchmarks/heap_faults.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, resource, statistics, sys, time, torch
from searchspace.builder import build
from searchspace.spec import ArchSpec
if sys.argv[1] == "held":
    from workers.heap import hold_freed_memory
    assert hold_freed_memory()
torch.set_num_threads(1)
runs = []
for text in json.loads(sys.argv[2]):
    spec = ArchSpec.from_string(text)
    runs.append((build(spec).eval(), torch.randn(1, spec.in_chans, spec.resolution, spec.resolution)))
ms, faults = [[] for _ in runs], [0 for _ in runs]
with torch.inference_mode():
    for model, x in runs:
        for _ in range(10):
            model(x)
    for _ in range(int(sys.argv[3])):
        for i, (model, x) in enumerate(runs):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            model(x)
            ms[i].append((time.perf_counter() - start) * 1e3)
            faults[i] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
n = int(sys.argv[3])
print(json.dumps([[statistics.median(m), f / n] for m, f in zip(ms, faults)]))
"""


def _child(heap: str, specs: list[str], rounds: int) -> list[list[float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = os.getcwd()
    out = subprocess.run([sys.executable, "-c", CHILD, heap, json.dumps(specs), str(rounds)],
                         env=env, capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(out.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from latency_noise import SPACE

    from workers.latency import REFERENCES, sample_specs

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--seed", type=int, default=7, help="the noise benchmark's architectures")
    args = p.parse_args(argv)
    specs = [*REFERENCES, *(s.to_string() for s in sample_specs(SPACE, 5, args.seed))]
    names = ["reference 0", "reference 1", "reference 2"] + [f"arch {i}" for i in range(5)]
    got: dict[str, list[list[list[float]]]] = {"default": [], "held": []}
    for _ in range(args.pairs):
        for heap, children in got.items():
            children.append(_child(heap, specs, args.rounds))
    print(f"command: {' '.join(sys.argv)}")
    print(f"eager PyTorch, 1 thread, {args.rounds} interleaved passes per child, {args.pairs} children per heap "
          "alternating; medians over the children")
    print(f"{'network':12} {'faults/pass, default':>21} {'held':>6} {'ms, default':>12} {'held':>7} {'held/default':>13}")
    for i, name in enumerate(names):
        f = {h: statistics.median(c[i][1] for c in got[h]) for h in got}
        ms = {h: statistics.median(c[i][0] for c in got[h]) for h in got}
        print(f"{name:12} {f['default']:>21.1f} {f['held']:>6.1f} {ms['default']:>12.3f} {ms['held']:>7.3f} "
              f"{ms['held'] / ms['default']:>13.3f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
