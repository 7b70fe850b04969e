"""Measured-latency noise during a running 2-worker search: beside training (before) vs with the CPU to itself.

A real search (``python -m workers search``, 2 Ray workers training on digits) runs in the background; the same
5 random architectures of the default space are then timed 5 times each, the way a worker times a candidate
(``measure_latency``: 1 thread, warm-up 10, median of 50 passes or more), alternating three ways in one run, each with
both clocks (wall: elapsed time; cpu: the timing thread's CPU time, which leaves out other processes' turns):

- before: timed beside the trainings, 50 passes back to back, as every measurement was before this change
  (except that glibc's heap is held, ``workers.latency.heap``: that holds for the whole process once anything is timed);
- after: as ``workers.training.evaluation.evaluate`` now times (the ``LatencyConfig`` defaults): holding the node's CPU
  lock exclusively (``workers.latency.cpu_lock.measuring``), which waits for the running trainings to end and holds new
  ones back; passes of the candidate and of the reference network alternating for ``window_s`` seconds (2),
  each candidate pass scaled by the node's reference level over the reference pass beside it; denormals
  flushed (here the 5 architectures of a round share one hold, a measuring phase, so that the run takes
  minutes). ``--window`` overrides the window;
- after, no reference: the same with ``latency.reference`` off (passes as timed), to show what the pass-by-pass
  scaling buys on a shared host.

It prints the spread (max/min of the 5 medians) per architecture for both, their ratio, and the load average.

    nice -n 10 python benchmarks/latency_noise.py
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from searchspace.latency_table import CLOCKS
from searchspace.space import PROXY_SPACE
from searchspace.spec import ArchSpec
from workers.latency import LatencyConfig, cpu_lock, measure_latency, sample_specs

SPACE = PROXY_SPACE.__class__.from_dict({**PROXY_SPACE.to_dict(), "num_classes": 10, "in_chans": 1})


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _start_search(work: Path, epochs: int, subset: float) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "workers", "search", "--trials", "500", "--workers", "2", "--epochs", str(epochs),
           "--subset", str(subset),
           "--pruner", "none", "--sampler", "random", "--storage", f"sqlite:///{work / 'noise.db'}", "--study",
           f"noise-{os.getpid()}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / "search.log", "w"),
                            start_new_session=True, env={**os.environ, "PYTHONPATH": os.getcwd()})


def _training_started(work: Path, timeout_s: float = 180) -> None:
    """Wait until the search's workers hold the CPU lock (they train)."""
    import fcntl

    deadline = time.monotonic() + timeout_s
    path = cpu_lock.lock_dir() / "cpu"
    while time.monotonic() < deadline:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # someone holds it shared: training runs
        finally:
            os.close(fd)
        time.sleep(0.5)
    raise RuntimeError(f"the search never started training; see {work / 'search.log'}")


def _measure(spec: ArchSpec, clock: str, window_s: float, reference: bool) -> float:
    """As a worker times a candidate: 1 thread, 10 warm-up passes, the median of 50 passes or more."""
    c = LatencyConfig()
    return measure_latency(spec, threads=c.threads, warmup=c.warmup, repeats=c.repeats, clock=clock,
                           window_s=window_s, reference=reference).median_ms


def _spread(values: list[float]) -> float:
    return max(values) / min(values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archs", type=int, default=5)
    p.add_argument("--times", type=int, default=5)
    p.add_argument("--epochs", type=int, default=1, help="epochs of the background search's trials")
    p.add_argument("--subset", type=float, default=0.25, help="share of digits the background trials train on")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--window", type=float, default=LatencyConfig().window_s,
                   help="seconds the after-measurement times for (at least 50 passes)")
    args = p.parse_args(argv)
    specs = sample_specs(SPACE, args.archs, args.seed)
    work = Path(tempfile.mkdtemp(prefix="latency-noise-"))
    os.environ["NAS_CPU_LOCK_DIR"] = str(work / "lock")  # this search's node lock, shared with its workers
    search = _start_search(work, args.epochs, args.subset)
    ways = ("before", "after", "after, no reference")
    found: dict[tuple[str, str], list[list[float]]] = {(w, c): [[] for _ in specs] for w in ways for c in CLOCKS}
    waited = []
    try:
        _training_started(work)
        load_before = _load()
        for _ in range(args.times):  # a round: each architecture beside training, then all in one measuring phase
            for i, spec in enumerate(specs):
                for clock in CLOCKS:
                    found["before", clock][i].append(_measure(spec, clock, 0.0, reference=False))
            start = time.perf_counter()
            with cpu_lock.measuring():
                waited.append(time.perf_counter() - start)
                for i, spec in enumerate(specs):
                    for clock in CLOCKS:
                        found["after", clock][i].append(_measure(spec, clock, args.window, LatencyConfig().reference))
                        found["after, no reference", clock][i].append(_measure(spec, clock, args.window, False))
        load_after = _load()
        alive = search.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(search.pid, signal.SIGTERM)
        try:
            search.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(search.pid, signal.SIGKILL)  # its Ray too (a session of its own)
            search.wait(timeout=30)
    print(f"command: {' '.join(sys.argv)}")
    print(f"after: exclusive CPU lock, passes for {args.window} s, each scaled by the reference pass beside it")
    print(f"background: python -m workers search --workers 2 --epochs {args.epochs} --subset {args.subset} (running at the end: "
          f"{alive}); load average {load_before} -> {load_after} on {os.cpu_count()} CPUs")
    for clock in CLOCKS:
        print(f"{clock} clock: median ms and spread (max/min) of {args.times} measurements per architecture")
        print(f"{'arch':>4}" + "".join(f" {w + ' ms':>20} {'max/min':>8}" for w in ways))
        for i in range(len(specs)):
            print(f"{i:>4}" + "".join(f" {statistics.median(found[w, clock][i]):>20.3f} "
                                      f"{_spread(found[w, clock][i]):>8.3f}" for w in ways))
        worst = ", ".join(f"{w} {max(map(_spread, found[w, clock])):.3f}" for w in ways)
        print(f"worst spread ({clock} clock): {worst} (goal < 1.10)")
    print(f"median wait for the lock {statistics.median(waited):.2f} s, longest {max(waited):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
