"""Random candidates of the default proxy space, trained with the proxy budget, for the dataset benchmarks.

Used by ``dataset_spread.py`` and ``zero_cost.py``. ``train_all`` keeps every result in a JSON cache keyed by
the dataset, the spec's one-line string, the budget and the seed, so that a second benchmark (or a rerun)
reuses the trainings already paid for.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from searchspace.counter import count
from searchspace.space import PROXY_SPACE, sample
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig
from workers.training import TrainBudget, train_and_evaluate

CACHE = Path(__file__).resolve().parent / "out" / "trained_candidates.json"


def random_specs(n: int, seed: int, resolution: int, num_classes: int, in_chans: int) -> list[ArchSpec]:
    """``n`` distinct specs drawn uniformly (Optuna's RandomSampler, ``seed``) from the default proxy space."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = replace(PROXY_SPACE, resolutions=(resolution,), num_classes=num_classes, in_chans=in_chans)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    specs: dict[str, ArchSpec] = {}
    while len(specs) < n:
        spec = sample(study.ask(), space)
        specs.setdefault(spec.to_string(), spec)
    return list(specs.values())


def _key(dataset: DatasetConfig, spec: ArchSpec, budget: TrainBudget, seed: int) -> str:
    return json.dumps([dataset.to_dict(), spec.to_string(), budget.to_dict(), seed], sort_keys=True)


def train_all(specs: list[ArchSpec], dataset: DatasetConfig, budget: TrainBudget, seed: int = 0,
              cache: Path = CACHE, log: bool = True) -> list[dict[str, Any]]:
    """Per spec: accuracy, train CPU/wall seconds, params and MACs (trained on one thread, cached).

    Results are written to ``cache`` and read from every ``trained_candidates*.json`` beside it (re-read before
    each spec), so that two benchmarks running at once share their trainings without writing the same file.
    """
    own: dict[str, Any] = json.loads(cache.read_text()) if cache.exists() else {}
    out = []
    for i, spec in enumerate(specs):
        key = _key(dataset, spec, budget, seed)
        cached = {**read_all(cache.parent), **own}
        if key not in cached:
            start = time.process_time()
            result = train_and_evaluate(spec, dataset, budget, seed=seed, threads=1)
            c = count(spec)
            cached[key] = own[key] = {"spec": spec.to_string(), "accuracy": result.accuracy,
                                      "cpu_s": time.process_time() - start, "train_s": result.train_seconds,
                                      "params": c.params, "macs": c.macs}
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(cache.name + ".partial")
            partial.write_text(json.dumps(own))
            partial.replace(cache)  # atomic: the other benchmark never reads half a file
            if log:
                row = cached[key]
                print(f"  [{dataset.source} {i + 1}/{len(specs)}] acc {row['accuracy']:.3f}  "
                      f"{row['cpu_s']:.1f} CPU-s  {row['macs'] / 1e6:.2f} MMACs", flush=True)
        out.append(cached[key])
    return out


def read_all(directory: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(directory.glob("trained_candidates*.json")):
        try:
            merged.update(json.loads(path.read_text()))
        except (OSError, ValueError):  # being written by the other benchmark: read next time
            continue
    return merged
