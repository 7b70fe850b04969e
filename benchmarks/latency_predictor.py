"""Predictor quality: table-predicted vs measured end-to-end latency of random specs of the default space.

For each runtime (eager PyTorch, ONNX Runtime) it takes a profile (``--eager-profile`` / ``--ort-profile``, as
written by ``python -m workers profile``), or builds one for just the parts the specs below need (resumable,
in ``--work``; use a fresh one for the *during* figure), timing ``--calibrate`` random specs (seed 0) and ``--n``
other random specs (seed ``--seed``, none of them a calibration spec) whole, a few in every chunk of parts, as
the profiler times its calibration; fits the correction on the calibration specs alone; then measures the
``--n`` test specs again, end to end, after the profile. It prints the share predicted within +-10% and the
median absolute error, for the pure sum of entries and for the corrected sum, against the test networks as
timed after the profile (minutes later: on a shared host the machine's speed has moved meanwhile) and as timed
during it (the same minutes as the table and the calibration: what a device kept for profiling sees), with the
machine's load average before and after.

    python benchmarks/latency_predictor.py --n 200 --calibrate 40 --runtimes onnxruntime,eager
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

from searchspace.fields import add_field_flag
from searchspace.latency_keys import network_parts
from searchspace.latency_table import DeviceProfile, table_terms
from searchspace.space import PROXY_SPACE
from searchspace.spec import ArchSpec
from workers.latency import Timing, calibrate, fitted, partial_path, sample_specs, time_networks, time_profile

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
             timing: Timing) -> tuple[DeviceProfile, list[float] | None]:
    """The profile with its correction, and the test networks' latency timed during its profiling (None when
    the profile was given or resumed from a partial one)."""
    if path:
        profile = DeviceProfile.from_json(Path(path).read_text())
        during = None
    else:
        parts = {p.key: p for spec in calibration + test for p in network_parts(spec)}
        scaled = "ref" if timing.reference else "raw"
        tag = f"{runtime}-{timing.clock}-q{timing.quantile}-w{timing.rewarm_calls}-{scaled}"
        out = work / f"{tag}.json"
        resumed = partial_path(out).exists()  # then some networks are timed after the resumed parts, not among them
        # calibration and test networks timed a few per chunk of parts, as the profiler times its calibration
        profile, timed = time_profile(parts.values(), timing, out, name=f"bench-{runtime}",
                                      networks=calibration + test)
        profile = fitted(profile, calibration, [e.ms for e in timed[:len(calibration)]])
        during = None if resumed else [e.ms for e in timed[len(calibration):]]
    if profile.correction.fitted_on == 0:
        profile = calibrate(profile, calibration, timing)  # fitted here, on seed-0 specs none of the test uses
    return profile, during


def _quality(pairs: list[tuple[float, float]]) -> dict[str, float]:
    errors = [abs(p - m) / m for p, m in pairs]
    return {"within_10pct": sum(e <= 0.10 for e in errors) / len(errors), "median_abs_error": statistics.median(errors),
            "p90_abs_error": sorted(errors)[int(0.9 * (len(errors) - 1))]}


def run(runtime: str, path: str | None, n: int, seed: int, n_calibrate: int, work: Path, timing: Timing,
        floor: bool) -> dict[str, Any]:
    timing = replace(timing, runtime=runtime)
    calibration = sample_specs(SPACE, n_calibrate, 0)
    test = _specs(n, seed, {s.to_string() for s in calibration})
    load_before = _load()
    start = time.perf_counter()
    profile, during = _profile(runtime, path, calibration, test, work, timing)
    profiled = time.perf_counter()
    level = profile.reference_ms or None  # measured at the profile's reference level, as its entries are
    measured = [e.ms for e in time_networks(test, timing, level)]
    again = [e.ms for e in time_networks(test, timing, level)] if floor else None
    rows = []
    for i, (spec, ms) in enumerate(zip(test, measured, strict=True)):
        total, parts = table_terms(spec, profile)
        rows.append((total, profile.correction.apply(total, parts), ms, during[i] if during else None,
                     again[i] if again else None, spec.num_blocks, spec.to_string()))
    c = profile.correction
    return {
        "runtime": runtime, "n": len(test), "calibrated_on": c.fitted_on, "scale": c.scale, "offset_ms": c.offset_ms,
        "exponent": c.exponent, "per_part_ms": c.per_part_ms,
        "entries": len(profile.entries), "profile_s": round(profiled - start, 1),
        "measure_s": round(time.perf_counter() - profiled, 1),
        "median_measured_ms": statistics.median(r[2] for r in rows),
        "sum": _quality([(r[0], r[2]) for r in rows]), "corrected": _quality([(r[1], r[2]) for r in rows]),
        "corrected_during": _quality([(r[1], r[3]) for r in rows]) if during else None,
        "during_vs_after": _quality([(r[3], r[2]) for r in rows]) if during else None,
        "floor": _quality([(r[4], r[2]) for r in rows]) if floor else None,
        "rows": [dict(zip(("sum_ms", "predicted_ms", "measured_ms", "during_ms", "again_ms", "blocks", "spec"), r,
                          strict=True)) for r in rows],
        "clock": timing.clock, "load_before": load_before, "load_after": _load(), "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="test specs per runtime")
    p.add_argument("--seed", type=int, default=1000, help="seed of the test specs")
    p.add_argument("--calibrate", type=int, default=40, help="calibration specs (seed 0)")
    p.add_argument("--runtimes", default="eager,onnxruntime")
    p.add_argument("--eager-profile", help="a profile written by python -m workers profile --runtime eager")
    p.add_argument("--ort-profile", help="a profile written by python -m workers profile --runtime onnxruntime")
    p.add_argument("--work", default="/tmp/latency-predictor", help="where partial tables are kept (resumable)")
    p.add_argument("--rounds", type=int, default=Timing().rounds)
    p.add_argument("--repeats", type=int, default=Timing().repeats)
    add_field_flag(p, "--rewarm", Timing, "rewarm", type=int, default=None)
    p.add_argument("--quantile", type=float, default=Timing().quantile)
    p.add_argument("--no-reference", action="store_true",
                   help="time without the reference network (entries and networks as timed, not scaled)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="cpu: the timing thread's CPU time, for a machine others load (see workers.latency.timing)")
    p.add_argument("--floor", action="store_true",
                   help="measure the test networks after the profile a second time: how well that agrees with itself")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    timing = Timing(repeats=args.repeats, rewarm=args.rewarm, rounds=args.rounds, clock=args.clock,
                    quantile=args.quantile, reference=not args.no_reference)
    paths = {"eager": args.eager_profile, "onnxruntime": args.ort_profile}
    results = [run(rt, paths[rt], args.n, args.seed, args.calibrate, work, timing, args.floor)
               for rt in args.runtimes.split(",")]
    print(f"command: {' '.join(sys.argv)}")
    print(f"clock: {args.clock}; {args.rounds} interleaved rounds of {args.repeats} timed runs, "
          f"entry = quantile {args.quantile} of the runs, "
          f"{'raw' if args.no_reference else 'every round scaled by the reference networks timed in it'}")
    print("after: the test networks timed after the profile (minutes later); during: timed among its chunks of "
          "parts, as the calibration was (the fit never saw them); within 10% (median abs error)")
    print(f"{'runtime':12} {'n':>4} {'sum, after':>16} {'corrected, after':>18} {'corrected, during':>18} "
          f"{'during vs after':>16} {'after vs again':>16} {'correction':>34}  load (1/5/15 min) before -> after")

    def cell(q: dict[str, float] | None) -> str:
        return f"{q['within_10pct']:.1%} ({q['median_abs_error']:.1%})" if q else "-"

    for r in results:
        print(f"{r['runtime']:12} {r['n']:>4} {cell(r['sum']):>16} {cell(r['corrected']):>18} "
              f"{cell(r['corrected_during']):>18} {cell(r['during_vs_after']):>16} {cell(r['floor']):>16} "
              f"{r['scale']:>6.3f} x (sum {r['per_part_ms']:+.4f} x parts) ^ {r['exponent']:.3f}  "
              f"{r['load_before']} -> {r['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
