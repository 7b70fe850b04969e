"""The search-quality comparison of ``benchmarks/oneshot_quality.py`` judged on latency instead of MACs: every
retrained network of its summary, at the resolution it was trained at, timed as a user times it
(``workers.latency.time_specs_fresh``: built alone in a freshly spawned process, the plain eager loop, batch 1,
one thread) and predicted from a device profile of this machine (eager, one thread); then each method's
hypervolume of (test accuracy above chance, latency) at a reference shared per dataset and seed, and its ratio
to random's, for both latencies (and MACs).

    python benchmarks/quality_latency.py --summary benchmarks/results/oneshot_quality_X.json [--out FILE]
        [--calibrate 40] [--no-predict]

The profile is made as ``python -m workers profile`` makes one (``workers.latency.profile``: parts timed by the
profiler, the correction fitted on ``--calibrate`` random networks of the searched space at the trained
resolution, seed 0, timed whole by the plain loop in a fresh process), per data shape (classes, input channels),
but of only the parts the retrained and calibration networks contain: a profile of the whole space predicts them
the same. Profiles are kept under benchmarks/out/quality_latency/ and reused. Run it on a quiet machine: the
latencies are measured, and the hypervolumes follow them. The latencies are written beside the summary's runs to
``--out`` (default: the summary's name with ``_latency``), so the figures can be recomputed without timing again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from searchspace.latency_keys import network_parts
from searchspace.latency_table import DeviceProfile, predict
from searchspace.space import SearchSpace
from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.latency import PlainLoop, Timing, sample_specs, time_specs_fresh
from workers.latency.profile import profile_parts, save_profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.oneshot_quality import OUT, flags, hypervolumes, space_of  # one space, one reference

COSTS = {"latency_ms": "measured latency", "predicted_ms": "predicted latency", "macs": "MACs"}


def predicted(specs: list[ArchSpec], space: SearchSpace, calibrate: int) -> dict[str, float]:
    """Each of ``specs`` predicted from a profile of this machine (module docstring), by spec string."""
    out: dict[str, float] = {}
    for classes, chans in sorted({(s.num_classes, s.in_chans) for s in specs}):
        group = [s for s in specs if (s.num_classes, s.in_chans) == (classes, chans)]
        shaped = SearchSpace.from_dict({**space.to_dict(), "num_classes": classes, "in_chans": chans})
        digest = hashlib.sha256(json.dumps(shaped.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
        path = OUT / "quality_latency" / f"profile-{digest}.json"
        profile = DeviceProfile.from_json(path.read_text()) if path.exists() else None
        if profile is None or any(p.key not in profile.entries for s in group for p in network_parts(s)):
            path.parent.mkdir(parents=True, exist_ok=True)  # profiled, or the parts it lacks timed (resumed)
            calibration = sample_specs(shaped, calibrate, 0)
            parts = {p.key: p for s in group + calibration for p in network_parts(s)}
            profile = profile_parts(parts.values(), Timing(), path, calibration=calibration)
            save_profile(path, profile)
        c = profile.correction
        print(f"{path} ({classes} classes, {chans} channel(s)): {len(profile.entries)} parts, correction fitted on "
              f"{c.fitted_on} networks whose rounds spread {c.round_spread:.0%} (above 10%: fitted on noise)")
        out.update({s.to_string(): predict(s, profile, path.name) for s in group})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", required=True, help="an oneshot_quality summary JSON")
    parser.add_argument("--out", help="where the runs with their latencies go")
    parser.add_argument("--calibrate", type=int, default=40, help="networks the profile's correction is fitted on")
    parser.add_argument("--no-predict", action="store_true", help="measured latency only (no profile)")
    args = parser.parse_args()
    command = "python benchmarks/quality_latency.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    summary = json.loads(Path(args.summary).read_text())
    runs = summary["runs"]
    bench = flags().parse_args(shlex.split(summary["command"])[2:])
    resolution = bench.full_resolution or bench.resolution  # the networks as trained: at the finalize's resolution
    space = replace(space_of(bench), resolutions=(resolution,))
    trained = {n["spec"]: replace(ArchSpec.from_string(n["spec"]), resolution=resolution)
               for r in runs for n in r["networks"] if n["error"] is None}
    specs = sorted(trained)
    loop = PlainLoop()
    timed = dict(zip(specs, time_specs_fresh([trained[s] for s in specs], loop), strict=True))
    costs = dict(COSTS)
    if args.no_predict:
        costs.pop("predicted_ms")
    else:
        forecast = predicted([trained[s] for s in specs], space, args.calibrate)
    for r in runs:
        for n in r["networks"]:
            n["latency_ms"] = timed[n["spec"]].median_ms if n["spec"] in timed else None
            if not args.no_predict:
                n["predicted_ms"] = forecast.get(trained[n["spec"]].to_string()) if n["spec"] in trained else None
    by_seed: dict[tuple[str, int], dict[str, dict]] = {}
    for r in runs:
        by_seed.setdefault((r["dataset"], r["seed"]), {})[r["method"]] = r
    ratios: dict[str, dict[tuple[str, str], list[float]]] = {}
    rows = []
    for (dataset, seed), methods in sorted(by_seed.items()):
        if "random" not in methods:
            continue
        hv = {cost: hypervolumes(methods, cost) for cost in costs}
        for m in methods:
            row = [dataset, seed, m, ", ".join(f"{n['latency_ms']:.3f}" for n in methods[m]["networks"]
                                              if n.get("latency_ms") is not None)]
            for cost in costs:
                ratio = hv[cost][m] / hv[cost]["random"] if hv[cost]["random"] > 0 else float("inf")
                ratios.setdefault(dataset, {}).setdefault((m, cost), []).append(ratio)
                row.append(ratio)
            rows.append(row)
    print(format_table(["dataset", "seed", "method", "measured ms (top 3)",
                        *(f"HV/random ({what})" for what in costs.values())], rows))
    table = [[d, m, costs[cost], len(r), statistics.median(r), min(r), max(r)]
             for d, by in ratios.items() for (m, cost), r in by.items() if m != "random"]
    print(f"\nhypervolume (test accuracy vs each cost; measured: {loop.describe()}) vs random's:")
    print(format_table(["dataset", "method", "cost", "seeds", "median ratio", "worst seed", "best seed"], table))
    out = Path(args.out) if args.out else Path(args.summary).with_name(Path(args.summary).stem + "_latency.json")
    out.write_text(json.dumps({"command": command, "summary": args.summary, "loop": loop.describe(),
                               "runs": runs}, indent=1) + "\n")
    print(f"runs with latencies: {out}\ncommand: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
