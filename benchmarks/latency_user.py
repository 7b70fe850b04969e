"""Latency as a user measures it: a profile's predictions against ``python -m workers measure`` in a fresh process.

For each runtime and thread count it profiles a small space (``SPACE``: the proxy skeleton with fewer choices, so
it finishes in minutes; ``python -m workers profile`` does the same: the parts timed by the profiler, the correction
fitted on ``--calibrate`` random networks, seed 0, timed by the plain loop in a fresh process), then takes ``--n``
held-out random networks of the space (seed ``--seed``, none a calibration network) and times each with
``python -m workers measure SPEC.json --runtime R --threads T --json`` in its own subprocess: the yardstick, the
runtime's benchmark loop on the network alone (``workers.latency.plain``). It reports the share predicted within
+-10% of that figure, the median absolute error, the median of predicted / measured and Spearman's rank
correlation. The same networks are also timed by the plain loop (all in one fresh process) before the profile and
after the measurements: that *self-agreement* (start vs end) is the ceiling any predictor reaches on this machine
while it drifts. Networks of the full proxy space (kernel 7, expansion 1, ...) are then looked up in the profile:
each must be reported uncovered, never extrapolated.

    python benchmarks/latency_user.py --n 20 --runtimes eager,onnxruntime --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from searchspace.latency_table import DeviceProfile, MissingEntryError, predict
from searchspace.space import PROXY_SPACE, SearchSpace
from searchspace.spec import ArchSpec
from workers.latency import PlainLoop, Timing, sample_specs, time_specs_fresh
from workers.latency.profile import profile_space

DIGITS = {"num_classes": 10, "in_chans": 1}
FULL = SearchSpace.from_dict({**PROXY_SPACE.to_dict(), **DIGITS})
SPACE = FULL.with_choices(kernels=(3, 5), expansions=(3.0, 6.0), acts=("relu", "hswish"), width_factors=(0.75, 1.25))


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def held_out(n: int, seed: int, exclude: set[str]) -> list[ArchSpec]:
    """``n`` distinct random networks of ``SPACE`` none of which is in ``exclude``."""
    out: dict[str, ArchSpec] = {}
    draw = n
    while len(out) < n:
        out = {s.to_string(): s for s in sample_specs(SPACE, draw, seed) if s.to_string() not in exclude}
        draw += n
    return list(out.values())[:n]


def measure(path: Path, runtime: str, threads: int) -> float:
    """``python -m workers measure`` in a fresh process: its figure (ms)."""
    cmd = [sys.executable, "-m", "workers", "measure", str(path), "--runtime", runtime, "--threads", str(threads),
           "--json"]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return float(json.loads(done.stdout)["latency_ms"])


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def agreement(predicted: list[float], measured: list[float]) -> dict[str, float]:
    errors = [abs(p / m - 1) for p, m in zip(predicted, measured, strict=True)]
    return {"within_10pct": sum(e <= 0.10 for e in errors) / len(errors), "median_abs_error": statistics.median(errors),
            "median_ratio": statistics.median(p / m for p, m in zip(predicted, measured, strict=True)),
            "spearman": spearman(predicted, measured)}


def profile_for(runtime: str, threads: int, n_calibrate: int, work: Path) -> tuple[DeviceProfile, float | None]:
    """The profile of ``SPACE`` (kept in ``work``; reused when there) and the seconds it took (None: reused)."""
    out = work / f"{runtime}-t{threads}.json"
    if out.exists():
        return DeviceProfile.from_json(out.read_text()), None
    start = time.perf_counter()
    profile = profile_space(SPACE, Timing(runtime=runtime, threads=threads), out, f"bench-{runtime}", n_calibrate,
                            seed=0, progress=False)
    return profile, time.perf_counter() - start


def run(runtime: str, threads: int, n: int, seed: int, n_calibrate: int, work: Path) -> dict[str, Any]:
    calibration = {s.to_string() for s in sample_specs(SPACE, n_calibrate, 0)}
    specs = held_out(n, seed, calibration)
    loop = PlainLoop(runtime=runtime, threads=threads)
    load_before = _load()
    start = [t.median_ms for t in time_specs_fresh(specs, loop)]
    profile, profile_s = profile_for(runtime, threads, n_calibrate, work)
    paths = []
    for i, spec in enumerate(specs):
        paths.append(work / f"net{seed}-{i}.json")
        paths[-1].write_text(spec.to_json())
    measured = [measure(path, runtime, threads) for path in paths]
    end = [t.median_ms for t in time_specs_fresh(specs, loop)]
    predicted = [predict(spec, profile) for spec in specs]
    uncovered = 0
    others = [s for s in sample_specs(FULL, 20, seed + 1)]
    for spec in others:
        try:
            predict(spec, profile)
        except MissingEntryError:
            uncovered += 1
    c = profile.correction
    return {
        "runtime": runtime, "threads": threads, "n": n, "entries": len(profile.entries), "profile_s": profile_s,
        "correction": f"{c.scale:.3f} x (sum {c.per_part_ms:+.4f} ms x parts) ^ {c.exponent:.3f}, {c.fitted_on} nets, "
                      f"rounds spread {c.round_spread:.0%}",
        "predictor": agreement(predicted, measured), "plain_start": agreement(start, measured),
        "self_agreement": agreement(start, end), "median_measured_ms": statistics.median(measured),
        "uncovered": f"{uncovered} of {len(others)}", "load_before": load_before, "load_after": _load(),
        "rows": [{"spec": s.to_string(), "predicted_ms": p, "measured_ms": m, "start_ms": a, "end_ms": b}
                 for s, p, m, a, b in zip(specs, predicted, measured, start, end, strict=True)],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="held-out networks per runtime")
    p.add_argument("--seed", type=int, default=1000, help="seed of the held-out networks")
    p.add_argument("--calibrate", type=int, default=40, help="calibration networks of the profile (seed 0)")
    p.add_argument("--runtimes", default="eager,onnxruntime")
    p.add_argument("--threads", default="1", help="thread counts, comma-separated (4 where the machine has them)")
    p.add_argument("--work", default="/tmp/latency-user", help="profiles (reused when present) and spec files")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for threads in args.threads.split(","):
        for runtime in args.runtimes.split(","):
            results.append(run(runtime, int(threads), args.n, args.seed, args.calibrate, work))
            if args.json:  # kept as it goes: a long run's finished runtimes survive an interruption
                Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"command: {' '.join(sys.argv)}  ({os.cpu_count()} logical CPUs)")
    print(f"space: {len(SPACE.stages)} stages, {SPACE.size():.2e} networks; yardstick: python -m workers measure "
          f"(fresh process; {PlainLoop().describe()})")

    def cell(q: dict[str, float]) -> str:
        return (f"{q['within_10pct']:.0%} | {q['median_abs_error']:.1%} | {q['median_ratio']:.3f} | "
                f"{q['spearman']:.2f}")

    print("| runtime | threads | n | predictor vs measure: within 10% / median error / median ratio / Spearman | "
          "self-agreement, plain loop start vs end (same) | plain loop at start vs measure (same) | profile s | "
          "uncovered (full proxy space) | correction | load before -> after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        profile_s = "reused" if r["profile_s"] is None else f"{r['profile_s']:.0f}"
        print(f"| {r['runtime']} | {r['threads']} | {r['n']} | {cell(r['predictor'])} | {cell(r['self_agreement'])} "
              f"| {cell(r['plain_start'])} | {profile_s} | {r['uncovered']} | {r['correction']} | "
              f"{r['load_before']} -> {r['load_after']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
