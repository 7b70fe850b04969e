"""The search-quality comparison of ``benchmarks/oneshot_quality.py`` judged on latency instead of MACs: every
retrained network of its summary timed as a user times it (``workers.latency.time_specs_fresh``: built alone in
a freshly spawned process, the plain eager loop, batch 1, one thread), then each method's hypervolume of (test
accuracy above chance, measured latency) at a reference shared per dataset and seed, and its ratio to random's.

    python benchmarks/quality_latency.py --summary benchmarks/results/oneshot_quality_X.json [--out FILE]

Run it on a quiet machine: the latencies are measured, and the hypervolumes follow them. The latencies are
written beside the summary's runs to ``--out`` (default: the summary's name with ``_latency``), so the figures
can be recomputed without timing again.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.latency import PlainLoop, time_specs_fresh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.oneshot_quality import hypervolumes  # one definition of the shared reference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", required=True, help="an oneshot_quality summary JSON")
    parser.add_argument("--out", help="where the runs with their latencies go")
    args = parser.parse_args()
    command = "python benchmarks/quality_latency.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    summary = json.loads(Path(args.summary).read_text())
    runs = summary["runs"]
    specs = sorted({n["spec"] for r in runs for n in r["networks"] if n["error"] is None})
    loop = PlainLoop()
    timed = dict(zip(specs, time_specs_fresh([ArchSpec.from_string(s) for s in specs], loop), strict=True))
    for r in runs:
        for n in r["networks"]:
            n["latency_ms"] = timed[n["spec"]].median_ms if n["spec"] in timed else None
    by_seed: dict[tuple[str, int], dict[str, dict]] = {}
    for r in runs:
        by_seed.setdefault((r["dataset"], r["seed"]), {})[r["method"]] = r
    ratios: dict[str, dict[str, list[float]]] = {}
    rows = []
    for (dataset, seed), methods in sorted(by_seed.items()):
        if "random" not in methods:
            continue
        hv_latency, hv_macs = hypervolumes(methods, "latency_ms"), hypervolumes(methods, "macs")
        for m in methods:
            ratio = hv_latency[m] / hv_latency["random"] if hv_latency["random"] > 0 else float("inf")
            macs_ratio = hv_macs[m] / hv_macs["random"] if hv_macs["random"] > 0 else float("inf")
            ratios.setdefault(dataset, {}).setdefault(m, []).append(ratio)
            rows.append([dataset, seed, m, ", ".join(f"{n['latency_ms']:.3f}" for n in methods[m]["networks"]
                                                    if n.get("latency_ms") is not None), ratio, macs_ratio])
    print(format_table(["dataset", "seed", "method", "latency ms (top 3)", "HV/random (latency)",
                        "HV/random (MACs)"], rows))
    table = [[d, m, len(r), statistics.median(r), min(r), max(r)]
             for d, by in ratios.items() for m, r in by.items() if m != "random"]
    print(f"\nhypervolume (test accuracy vs measured latency: {loop.describe()}) vs random's:")
    print(format_table(["dataset", "method", "seeds", "median ratio", "worst seed", "best seed"], table))
    out = Path(args.out) if args.out else Path(args.summary).with_name(Path(args.summary).stem + "_latency.json")
    out.write_text(json.dumps({"command": command, "summary": args.summary, "loop": loop.describe(),
                               "runs": runs}, indent=1) + "\n")
    print(f"runs with latencies: {out}\ncommand: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
