"""``python -m workers profile``: its flags and the command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from searchspace.checks import check_int
from searchspace.fields import add_field_flag
from searchspace.latency_table import (
    CLOCKS,
    RUNTIMES,
)
from searchspace.space import SKELETONS, SearchSpace, skeleton_space
from workers.latency.profile import load_space, profile_space
from workers.latency.timing import Timing

BUSY = 0.10  # a calibration whose rounds spread more than this (median over its networks) is called noisy


def add_profile_flags(p: Any) -> None:
    """The ``python -m workers profile`` flags."""
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--space", help="search space JSON (a SearchSpace, or a search config with 'space')")
    group.add_argument("--skeleton", choices=tuple(SKELETONS), help="a built-in search space")
    add_field_flag(p, "--runtime", Timing, "runtime", choices=RUNTIMES, default="eager")
    p.add_argument("--out", required=True, help="the profile JSON to write (resumes from OUT.partial)")
    p.add_argument("--name", default="", help="a label for the device")
    p.add_argument("--classes", type=int, help="classes of the head (default: the space's; digits has 10)")
    p.add_argument("--in-chans", type=int, help="input channels of the stem (default: the space's; digits: 1)")
    add_field_flag(p, "--clock", Timing, "clock", choices=CLOCKS, default="wall")
    for name in ("threads", "warmup", "repeats", "rounds", "quantile"):
        add_field_flag(p, f"--{name}", Timing, name, default=getattr(Timing(), name))
    add_field_flag(p, "--rewarm", Timing, "rewarm", type=int, default=None)
    p.add_argument("--calibrate", type=int, default=40, help="random networks timed whole to fit the correction")
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration networks")


def profile_command(args: Any) -> int:
    """Run ``python -m workers profile``: print entries, time taken and where the profile went."""
    import sys

    space = load_space(args.space) if args.space else skeleton_space(args.skeleton)
    shape = {k: v for k, v in (("num_classes", args.classes), ("in_chans", args.in_chans)) if v is not None}
    space = SearchSpace.from_dict({**space.to_dict(), **shape})
    timing = Timing(runtime=args.runtime, threads=args.threads, warmup=args.warmup, rewarm=args.rewarm,
                    repeats=args.repeats, rounds=args.rounds, clock=args.clock, quantile=args.quantile)
    check_int("--calibrate", args.calibrate, 0, 10_000)
    start = time.perf_counter()
    profile = profile_space(space, timing, Path(args.out), args.name, args.calibrate, args.seed)
    c = profile.correction
    print(f"{len(profile.entries)} entries ({profile.device.runtime}, {timing.threads} thread(s)) in "
          f"{time.perf_counter() - start:.0f} s; correction: {c.scale:.3f} x (sum {c.per_part_ms:+.4f} ms x parts) "
          f"^ {c.exponent:.3f} "
          f"(fitted on {c.fitted_on} networks); wrote {args.out}", file=sys.stderr)
    if c.round_spread > BUSY:
        print(f"warning: the calibration networks' slowest round was {c.round_spread:.0%} above their fastest "
              f"(median): the device was busy while they were timed, so the correction is fitted on noise; "
              f"profile again with the device to itself", file=sys.stderr)
    return 0
