"""Soak: many small searches back to back on one embedded service; the API's and the driver's memory after each.

    .venv/bin/python benchmarks/soak.py [--searches 20] [--trials 2]

Starts the service as users run it (``python -m api --with-driver`` on a fresh SQLite file: the API process and
its embedded driver child, ``python -m jobs``), queues tiny searches one after another (digits, 16 px, one epoch,
no baselines), waits for each to finish, and after each reads the resident set size (VmRSS, from /proc) of the
API process and of the driver process. Prints one row per search and the growth from search 3 to the last
(goal: at most 10%, i.e. flat after the warm-up of the first searches).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.service_process import running_service

SEARCH = {"n_trials": 2, "n_workers": 1, "sampler": "random", "pruner": "none", "baselines": [],
          "space": {"resolutions": [16]}, "dataset": {"subset": 0.2}, "training": {"epochs": 1, "batch_size": 32},
          "latency": {"warmup": 1, "repeats": 3, "window_s": 0}}


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def driver_pid(api_pid: int) -> int:
    """The embedded driver: the API process's child running ``-m jobs``."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == api_pid and b"jobs" in cmdline:
            return int(status.parent.name)
    raise RuntimeError("the embedded driver process was not found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    print(f"command: .venv/bin/python benchmarks/soak.py --searches {args.searches} --trials {args.trials}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, running_service(f"sqlite:///{tmp}/soak.db", True,
                                                               Path(tmp) / "service.log") as run:
        api = run.procs[0].pid
        for i in range(1, args.searches + 1):
            start = time.monotonic()
            created = run.client.post("/v1/searches", json={**SEARCH, "n_trials": args.trials, "seed": i})
            created.raise_for_status()
            search_id = created.json()["id"]
            while (state := run.client.get(f"/v1/searches/{search_id}").json()["state"]) in ("queued", "running"):
                time.sleep(1.0)
            row = (i, state, time.monotonic() - start, rss_mib(api), rss_mib(driver_pid(api)))
            rows.append(row)
            print(f"search {row[0]:3d} {row[1]:10s} {row[2]:6.1f} s   API {row[3]:7.1f} MiB   driver {row[4]:7.1f} MiB",
                  flush=True)
    if len(rows) >= 4:
        for name, col in (("API", 3), ("driver", 4)):
            growth = rows[-1][col] / rows[2][col] - 1
            print(f"{name} RSS from search 3 to {len(rows)}: {rows[2][col]:.1f} -> {rows[-1][col]:.1f} MiB "
                  f"({growth:+.1%}; goal at most +10%: {'met' if growth <= 0.10 else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
