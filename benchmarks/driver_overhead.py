"""Orchestration overhead per trial with a trivial evaluation: our driver vs a plain in-process Optuna loop vs
Ray Tune with OptunaSearch (ms per trial, and ratios), measured in one run.

    python benchmarks/driver_overhead.py [--trials 60] [--tune-trials 20]

All three use SQLite-free in-memory bookkeeping except ours, which persists every trial to a SQLite file (the
product's default), samples the real search space and counts every candidate analytically.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from typing import Any

import optuna

from searchspace.space import sample
from workers.runtime import ensure_ray
from workers.search import SearchConfig, SearchDriver


def trivial(spec: Any, config: Any, referee: Any = None) -> dict[str, Any]:
    """A constant-time evaluation: the benchmark measures everything around it."""
    return {"accuracy": 0.5, "epoch_accuracies": [0.5], "latency_ms": 1.0, "latency_p90_ms": 1.0,
            "train_seconds": 0.0, "eval_seconds": 0.0, "device": {}, "stopped": None}


def ours(trials: int, storage: str) -> float:
    """Per trial, after a warm-up search that pays the one-off costs (dataset scan, imports, Ray workers)."""
    config = replace(SearchConfig(), n_trials=trials, n_workers=2, sampler="nsga2", pruner="none", seed=0)
    SearchDriver(replace(config, n_trials=4), storage, f"warmup-{time.time_ns()}", evaluate_fn=trivial).run()
    start = time.perf_counter()
    SearchDriver(config, storage, f"overhead-{time.time_ns()}", evaluate_fn=trivial, poll_s=0.2).run()
    return (time.perf_counter() - start) / trials


def plain_optuna(trials: int) -> float:
    config = SearchConfig()
    study = optuna.create_study(directions=["maximize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=0, population_size=15))
    start = time.perf_counter()
    for _ in range(trials):
        trial = study.ask()
        spec = sample(trial, config.space)
        study.tell(trial, [0.5, 1.0 + 0 * spec.resolution])
    return (time.perf_counter() - start) / trials


def ray_tune(trials: int) -> float:
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    def objective(cfg: dict[str, Any]) -> dict[str, float]:
        return {"accuracy": 0.5, "latency": 1.0}

    space = {"kernel": tune.choice([3, 5, 7]), "expansion": tune.choice([1, 3, 4, 6])}
    search = OptunaSearch(metric=["accuracy", "latency"], mode=["max", "min"], seed=0)
    start = time.perf_counter()
    tune.Tuner(objective, param_space=space,
               tune_config=tune.TuneConfig(search_alg=search, num_samples=trials, max_concurrent_trials=2),
               run_config=tune.RunConfig(verbose=0, storage_path=tempfile.mkdtemp())).fit()
    return (time.perf_counter() - start) / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--tune-trials", type=int, default=20, help="0 skips Ray Tune")
    parser.add_argument("--storage", help="SQLAlchemy URL for our driver (default: a fresh SQLite file)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("ray").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    ensure_ray(2)
    with tempfile.TemporaryDirectory() as tmp:
        ours_s = ours(args.trials, args.storage or f"sqlite:///{os.path.join(tmp, 'bench.db')}")
    plain_s = plain_optuna(args.trials)
    tune_s = ray_tune(args.tune_trials) if args.tune_trials else float("nan")
    backend = (args.storage or "sqlite").split(":")[0]
    print(f"ours (Ray + {backend}-persisted Optuna, 2 workers): {ours_s * 1e3:8.1f} ms/trial")
    print(f"plain in-process Optuna ask/tell (in memory):    {plain_s * 1e3:8.1f} ms/trial "
          f"(ours/plain = {ours_s / plain_s:.1f}x)")
    print(f"Ray Tune + OptunaSearch:                          {tune_s * 1e3:8.1f} ms/trial "
          f"(tune/ours = {tune_s / ours_s:.1f}x)")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
