"""Trials per minute on a multi-node Ray cluster of one-CPU worker nodes on this machine, vs the single-node
driver (a private local Ray), measured in one run: the same search with a trivial evaluation (orchestration
only: ms per trial) and with a real small one (proxy training on digits).

    nice -n 10 python benchmarks/cluster_throughput.py [--trivial-trials 60] [--real-trials 8]

The cluster is tests/workers/ray_nodes.py's (separate ``ray start`` processes with token authentication, in a
loopback-only network namespace: needs root); the driver joins it through RAY_ADDRESS. Every search uses the
same PostgreSQL database (through its unix socket), n_workers = the CPUs available to trials, and starts after
a warm-up search of 4 trials that pays the one-off costs (imports, Ray workers, dataset scan).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workers import ray_nodes
from tests.workers.ray_nodes import LoopbackCluster

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def trivial(spec: Any, config: Any, referee: Any = None) -> dict[str, Any]:
    """A constant-time evaluation (as benchmarks/driver_overhead.py's): only the orchestration is measured."""
    return {"accuracy": 0.5, "epoch_accuracies": [0.5], "latency_ms": 1.0, "latency_p90_ms": 1.0,
            "train_seconds": 0.0, "eval_seconds": 0.0, "device": {}, "stopped": None}


def inner(mode: str, trials: int, workers: int, url: str) -> dict[str, float]:
    """One timed search (after a warm-up one) in this process: seconds and the nodes its trials ran on."""
    from workers.data import DatasetConfig
    from workers.latency import LatencyConfig
    from workers.search import SearchConfig, SearchDriver, evaluate_trial
    from workers.training import TrainBudget

    config = SearchConfig(dataset=DatasetConfig(subset=0.3), budget=TrainBudget(epochs=1, batch_size=32),
                          latency=LatencyConfig(warmup=2, repeats=10), n_trials=trials, n_workers=workers,
                          sampler="random", pruner="none", seed=0)
    evaluate = trivial if mode == "trivial" else evaluate_trial
    SearchDriver(replace(config, n_trials=4, seed=1), url, f"warmup-{uuid.uuid4().hex}", evaluate_fn=evaluate).run()
    start = time.perf_counter()
    result = SearchDriver(config, url, f"bench-{uuid.uuid4().hex}", evaluate_fn=evaluate).run()
    seconds = time.perf_counter() - start
    done = sum(t.state == "COMPLETE" for t in result.trials)
    return {"seconds": seconds, "trials": done, "nodes": len({t.node_id for t in result.trials if t.node_id})}


def _inner_command(mode: str, trials: int, workers: int, url: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--inner", mode, "--trials", str(trials),
            "--workers", str(workers), "--url", url]


def _parse(out: str) -> dict[str, float]:
    return json.loads(out.strip().splitlines()[-1])


def on_cluster(nodes: int, mode: str, trials: int, url: str) -> dict[str, float]:
    with LoopbackCluster() as cluster:
        cluster.start_head()
        for i in range(nodes):
            cluster.add_node(f"w{i}", cpus=1)
        out = cluster.exec_ok(_inner_command(mode, trials, nodes, url), timeout=1800, RAY_ADDRESS=cluster.address)
        return _parse(out)


def local(mode: str, trials: int, url: str) -> dict[str, float]:
    """The single-node driver: its own local Ray of 2 CPUs (workers/cluster.py), n_workers 2."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PYTHONPATH=str(ROOT), NAS_RAY_CPUS="2")
    done = subprocess.run(_inner_command(mode, trials, 2, url), check=False, capture_output=True, text=True, env=env,
                          timeout=1800, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return _parse(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trivial-trials", type=int, default=60)
    parser.add_argument("--real-trials", type=int, default=8)
    parser.add_argument("--inner", choices=("trivial", "real"), help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(args.inner, args.trials, args.workers, args.url)))
        return 0
    if ray_nodes.available():
        parser.exit(2, f"error: {ray_nodes.available()}\n")
    import psycopg

    name = f"nas_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ray_nodes.unix_socket_url(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    rows = []
    try:
        for mode, trials in (("trivial", args.trivial_trials), ("real", args.real_trials)):
            for workers in (0, 1, 2):  # 0: the single-node driver (2 CPUs, n_workers 2)
                if workers:
                    label, r = f"cluster: head + {workers} worker node{'s' * (workers > 1)} of 1 CPU", on_cluster(
                        workers, mode, trials, url)
                else:
                    label, r = "single-node driver, local Ray of 2 CPUs", local(mode, trials, url)
                rows.append((mode, label, workers or 2, r))
                print(mode, label, json.dumps(r), flush=True)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"\n    nice -n 10 python benchmarks/cluster_throughput.py --trivial-trials {args.trivial_trials} "
          f"--real-trials {args.real_trials}\n")
    print("| evaluation | where | n_workers | trials | nodes used | seconds | trials/min | ms/trial | vs single-node |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = {mode: r for mode, label, _, r in rows if label.startswith("single")}
    for mode, label, workers, r in rows:
        per = r["seconds"] * 1000 / r["trials"]
        ratio = per / (base[mode]["seconds"] * 1000 / base[mode]["trials"])
        print(f"| {mode} | {label} | {workers} | {r['trials']:.0f} | {r['nodes']:.0f} | {r['seconds']:.1f} | "
              f"{60 * r['trials'] / r['seconds']:.1f} | {per:.1f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
