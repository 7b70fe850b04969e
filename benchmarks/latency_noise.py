"""Measured-latency noise during a running 2-worker search: beside training (before) vs with the CPU to itself.

A real search (``python -m workers search``, 2 Ray workers training on digits) runs in the background; the same
5 random architectures of the default space are then timed 5 times each, the way a worker times a candidate
(``measure_latency``: 1 thread, warm-up 10, median of 50), alternating two ways in the same run:

- before: timed beside the trainings, as every measurement was before this change;
- after: timed holding the node's CPU lock exclusively (``workers.cpu_lock.measuring``), which waits for the
  running trainings to end and holds new ones back, as ``workers.evaluation.evaluate`` now does.

It prints the spread (max/min of the 5 medians) per architecture for both, their ratio, and the load average.

    nice -n 10 python benchmarks/latency_noise.py
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workers import cpu_lock
from workers.config import PROXY_SPACE
from workers.latency import measure_latency
from workers.profiling import sample_specs

SPACE = PROXY_SPACE.__class__.from_dict({**PROXY_SPACE.to_dict(), "num_classes": 10, "in_chans": 1})


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _start_search(work: Path, epochs: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "workers", "search", "--trials", "500", "--workers", "2", "--epochs", str(epochs),
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


def _spread(values: list[float]) -> float:
    return max(values) / min(values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archs", type=int, default=5)
    p.add_argument("--times", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3, help="epochs of the background search's trials")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    specs = sample_specs(SPACE, args.archs, args.seed)
    work = Path(tempfile.mkdtemp(prefix="latency-noise-"))
    os.environ["NAS_CPU_LOCK_DIR"] = str(work / "lock")  # this search's node lock, shared with its workers
    search = _start_search(work, args.epochs)
    before: dict[int, list[float]] = {i: [] for i in range(len(specs))}
    after: dict[int, list[float]] = {i: [] for i in range(len(specs))}
    waited = []
    try:
        _training_started(work)
        load_before = _load()
        for _ in range(args.times):
            for i, spec in enumerate(specs):
                before[i].append(measure_latency(spec, threads=1, warmup=10, repeats=50).median_ms)
                start = time.perf_counter()
                with cpu_lock.measuring():
                    waited.append(time.perf_counter() - start)
                    after[i].append(measure_latency(spec, threads=1, warmup=10, repeats=50).median_ms)
        load_after = _load()
        alive = search.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(search.pid, signal.SIGTERM)
        search.wait(timeout=120)
    print(f"command: {' '.join(sys.argv)}")
    print(f"background: python -m workers search --workers 2 --epochs {args.epochs} (still running at the end: "
          f"{alive}); load average {load_before} -> {load_after} on {os.cpu_count()} CPUs")
    print(f"{'arch':>4} {'before ms (median of 5)':>24} {'before max/min':>15} {'after ms':>10} {'after max/min':>14}")
    for i in range(len(specs)):
        b, a = sorted(before[i]), sorted(after[i])
        print(f"{i:>4} {b[len(b) // 2]:>24.3f} {_spread(b):>15.3f} {a[len(a) // 2]:>10.3f} {_spread(a):>14.3f}")
    worst_b = max(_spread(v) for v in before.values())
    worst_a = max(_spread(v) for v in after.values())
    print(f"worst spread: before {worst_b:.3f}, after {worst_a:.3f} (goal < 1.10); median wait for the lock "
          f"{sorted(waited)[len(waited) // 2]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
