"""Predictor quality: table-predicted vs measured end-to-end latency of random specs of the default space.

For each runtime (eager PyTorch, ONNX Runtime) it takes a profile (``--eager-profile`` / ``--ort-profile``, as
written by ``python -m workers profile``), or builds one for just the parts the specs below need (resumable,
in ``--work``); fits the correction on ``--calibrate`` random specs (seed 0, as the profiler does) unless the
profile has one; then measures ``--n`` other random specs (seed ``--seed``, none of them a calibration spec)
end to end and prints the share predicted within +-10% and the median absolute error, for the pure sum of
entries and for the corrected sum, with the machine's load average before and after.

    nice -n 10 python benchmarks/latency_predictor.py --n 200 --eager-profile proxy-eager.json
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

from searchspace.latency_keys import network_parts
from searchspace.latency_table import DeviceProfile, table_sum
from searchspace.spec import ArchSpec
from workers.config import PROXY_SPACE
from workers.profiling import Timing, calibrate, profile_parts, sample_specs, time_network

SPACE = PROXY_SPACE.__class__.from_dict({**PROXY_SPACE.to_dict(), "num_classes": 10, "in_chans": 1})  # digits


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _specs(n: int, seed: int, exclude: set[str]) -> list[ArchSpec]:
    out, extra = [], 0
    while len(out) < n:
        batch = sample_specs(SPACE, n + extra, seed)
        out = [s for s in batch if s.to_string() not in exclude]
        out = list({s.to_string(): s for s in out}.values())[:n]
        extra += n - len(out) + 5
    return out


def _profile(runtime: str, path: str | None, calibration: list[ArchSpec], test: list[ArchSpec], work: Path,
             timing: Timing) -> DeviceProfile:
    if path:
        profile = DeviceProfile.from_json(Path(path).read_text())
    else:
        parts = {p.key: p for spec in calibration + test for p in network_parts(spec)}
        profile = profile_parts(parts.values(), timing, work / f"{runtime}-{timing.clock}.json", name=f"bench-{runtime}")
    if profile.correction.fitted_on == 0:
        profile = calibrate(profile, calibration, timing)  # fitted here, on seed-0 specs none of the test uses
    return profile


def _quality(pairs: list[tuple[float, float]]) -> dict[str, float]:
    errors = [abs(p - m) / m for p, m in pairs]
    return {"within_10pct": sum(e <= 0.10 for e in errors) / len(errors), "median_abs_error": statistics.median(errors),
            "p90_abs_error": sorted(errors)[int(0.9 * (len(errors) - 1))]}


def run(runtime: str, path: str | None, n: int, seed: int, n_calibrate: int, work: Path, timing: Timing
        ) -> dict[str, Any]:
    timing = replace(timing, runtime=runtime)
    calibration = sample_specs(SPACE, n_calibrate, 0)
    test = _specs(n, seed, {s.to_string() for s in calibration})
    load_before = _load()
    start = time.perf_counter()
    profile = _profile(runtime, path, calibration, test, work, timing)
    profiled = time.perf_counter()
    rows = []
    for spec in test:
        total = table_sum(spec, profile)
        measured = time_network(spec, timing).median_ms
        rows.append((total, profile.correction.apply(total), measured, spec.num_blocks))
    c = profile.correction
    return {
        "runtime": runtime, "n": len(test), "calibrated_on": c.fitted_on, "scale": c.scale, "offset_ms": c.offset_ms,
        "entries": len(profile.entries), "profile_s": round(profiled - start, 1),
        "measure_s": round(time.perf_counter() - profiled, 1),
        "median_measured_ms": statistics.median(r[2] for r in rows),
        "sum": _quality([(r[0], r[2]) for r in rows]), "corrected": _quality([(r[1], r[2]) for r in rows]),
        "rows": [dict(zip(("sum_ms", "predicted_ms", "measured_ms", "blocks"), r, strict=True)) for r in rows],
        "clock": timing.clock, "load_before": load_before, "load_after": _load(), "cpus": os.cpu_count(),
    }


def noise_floor(runtime: str, n: int, seed: int, timing: Timing) -> dict[str, float]:
    """The same ``n`` test networks measured twice: how well the measurement agrees with itself."""
    timing = replace(timing, runtime=runtime)
    pairs = [(time_network(s, timing).median_ms, time_network(s, timing).median_ms) for s in sample_specs(SPACE, n, seed)]
    return _quality(pairs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="test specs per runtime")
    p.add_argument("--seed", type=int, default=1000, help="seed of the test specs")
    p.add_argument("--calibrate", type=int, default=20, help="calibration specs (seed 0) when a profile has none")
    p.add_argument("--runtimes", default="eager,onnxruntime")
    p.add_argument("--eager-profile", help="a profile written by python -m workers profile --runtime eager")
    p.add_argument("--ort-profile", help="a profile written by python -m workers profile --runtime onnxruntime")
    p.add_argument("--work", default="/tmp/latency-predictor", help="where partial tables are kept (resumable)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="cpu: the timing thread's CPU time, for a machine others load (see workers.profiling)")
    p.add_argument("--floor", type=int, default=0,
                   help="only measure this many test networks twice (the measurement's own agreement) and stop")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    timing = Timing(repeats=args.repeats, rounds=args.rounds, clock=args.clock)
    if args.floor:
        for runtime in args.runtimes.split(","):
            q = noise_floor(runtime, args.floor, args.seed, timing)
            print(f"{runtime}: {args.floor} networks measured twice agree within 10%: {q['within_10pct']:.1%}, "
                  f"median difference {q['median_abs_error']:.1%} (clock {args.clock}, load {_load()})")
        return 0
    paths = {"eager": args.eager_profile, "onnxruntime": args.ort_profile}
    results = [run(rt, paths[rt], args.n, args.seed, args.calibrate, work, timing) for rt in args.runtimes.split(",")]
    print(f"command: {' '.join(sys.argv)}")
    print(f"clock: {args.clock}; {args.rounds} rounds of {args.repeats} timed runs, entry = smallest round median")
    print(f"{'runtime':12} {'n':>4} {'sum within 10%':>15} {'sum median err':>15} {'corr. within 10%':>17} "
          f"{'corr. median err':>17} {'correction':>22}  load (1/5/15 min) before -> after")
    for r in results:
        s, c = r["sum"], r["corrected"]
        print(f"{r['runtime']:12} {r['n']:>4} {s['within_10pct']:>15.1%} {s['median_abs_error']:>15.1%} "
              f"{c['within_10pct']:>17.1%} {c['median_abs_error']:>17.1%} "
              f"{r['scale']:>8.3f}x + {r['offset_ms']:.3f} ms  {r['load_before']} -> {r['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
