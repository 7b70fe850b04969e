"""Which part of the default training recipe's augmentation helps or hurts full-fidelity accuracy on data of
different character: the default TrainRecipe against variants that each change one augmentation setting.

    python benchmarks/recipe_augmentation.py [--datasets digits,shapes,textures] [--candidates 3] [--epochs 10]
                                             [--resolution 32] [--arms default,none,mild,no_flip,no_auto,crop_0.7]
                                             [--workers 2] [--out benchmarks/out/recipe_augmentation.json]

Per dataset, ``--candidates`` random architectures of the default proxy space (seeded: the first candidates of
benchmarks/proxy_truth.py) are trained with ``workers.training.fit`` under every arm, for ``--epochs`` epochs
at ``--resolution`` px, one thread each, ``--workers`` processes in parallel; the figure is the test accuracy of
the checkpoint selected on validation. An arm is a preset name (``ARMS``) or ``NAME:field=value,...`` with
TrainRecipe fields (JSON values). Results go to ``--out`` after every training, and a rerun with the same
settings skips what it holds, so a stopped run resumes. The datasets are proxy_truth.py's (digits, shapes,
textures: the last one is generated there).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from proxy_truth import OUT, make_textures

from searchspace.space import PROXY_SPACE
from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.search.proxy_check import sample_candidates
from workers.training import TrainRecipe

# One setting changed at a time from the default (crop 0.35-1, flip, TrivialAugment), and two combinations.
ARMS: dict[str, dict[str, Any]] = {
    "default": {},
    "no_flip": {"flip": False},
    "no_auto": {"auto_augment": "none"},
    "crop_0.7": {"crop_scale": 0.7},
    "mild": {"crop_scale": 0.7, "flip": False, "auto_augment": "none"},
    "none": {"crop_scale": 1.0, "flip": False, "auto_augment": "none"},
}


def parse_arm(text: str) -> tuple[str, dict[str, Any]]:
    """A preset name, or ``NAME:field=value,field=value`` (values as JSON, else as strings)."""
    if ":" not in text:
        if text not in ARMS:
            raise SystemExit(f"unknown arm {text!r}: one of {', '.join(ARMS)} or NAME:field=value,...")
        return text, ARMS[text]
    name, _, body = text.partition(":")
    fields: dict[str, Any] = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        try:
            fields[key] = json.loads(value)
        except json.JSONDecodeError:
            fields[key] = value
    return name, fields


def dataset_config(name: str) -> DatasetConfig:
    return DatasetConfig(source=str(make_textures(OUT / "textures")) if name == "textures" else name)


def train_one(spec_key: str, dataset: str, recipe: dict[str, Any]) -> dict[str, Any]:
    """One full-fidelity training in a worker process (one torch thread)."""
    from workers.training import fit

    cpu, wall = time.process_time(), time.perf_counter()
    result = fit(ArchSpec.from_string(spec_key), dataset_config(dataset), TrainRecipe.from_dict(recipe), threads=1)
    return {"test_accuracy": result.test_accuracy, "val_accuracy": result.val_accuracy,
            "best_epoch": result.best_epoch, "selected": result.selected, "test_size": result.test_size,
            "epochs": [e.to_dict() for e in result.epochs], "train_seconds": result.train_seconds,
            "cpu_seconds": time.process_time() - cpu, "wall_seconds": time.perf_counter() - wall}


def summary(results: dict[str, Any], datasets: list[str], arms: list[str], candidates: int) -> str:
    """Arms x datasets: mean test accuracy over the candidates (each candidate's), change against default."""
    rows = []
    for arm in arms:
        row: list[Any] = [arm]
        for ds in datasets:
            accs = [results.get(f"{ds}/{i}/{arm}", {}).get("test_accuracy") for i in range(candidates)]
            base = [results.get(f"{ds}/{i}/default", {}).get("test_accuracy") for i in range(candidates)]
            done = [a for a in accs if a is not None]
            paired = [a - b for a, b in zip(accs, base, strict=True) if a is not None and b is not None]
            row.append(f"{statistics.mean(done):.3f} ({' '.join(f'{a:.2f}' for a in done)})" if done else "-")
            row.append(f"{statistics.mean(paired):+.3f}" if paired and arm != "default" else "")
        rows.append(row)
    headers = ["arm"] + [h for ds in datasets for h in (f"{ds} test acc (each)", "vs default")]
    return format_table(headers, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,shapes,textures")
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--arms", default="default,none,mild,no_flip,no_auto,crop_0.7",
                        help="comma-separated presets; or repeat --arm NAME:field=value,...")
    parser.add_argument("--arm", action="append", default=[], help="an arm NAME:field=value,... (repeatable)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT / "recipe_augmentation.json")
    args = parser.parse_args()
    command = "python benchmarks/recipe_augmentation.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    arms = dict(parse_arm(a) for a in [*filter(None, args.arms.split(",")), *args.arm])
    datasets = args.datasets.split(",")
    base = TrainRecipe(epochs=args.epochs, resolution=args.resolution)
    recipes = {arm: TrainRecipe.from_dict({**base.to_dict(), **fields}).to_dict() for arm, fields in arms.items()}
    saved = json.loads(args.out.read_text()) if args.out.exists() else {}
    results: dict[str, Any] = saved.get("results", {})
    tasks, specs = [], {}
    for ds in datasets:  # the candidates of proxy_truth.py: the proxy space sized for the data, the same seed
        info = dataset_config(ds).validate()
        space = replace(PROXY_SPACE, num_classes=info.num_classes, in_chans=info.in_chans)
        specs[ds] = [s.to_string() for s in sample_candidates(space, args.candidates, args.seed)]
    for arm in arms:  # arm by arm, so that a stopped run holds whole arms
        for ds in datasets:
            for i, key in enumerate(specs[ds]):
                name = f"{ds}/{i}/{arm}"
                if name in results and results[name]["recipe"] == recipes[arm] and results[name]["spec"] == key:
                    continue
                tasks.append((name, key, ds, recipes[arm]))
    print(f"{len(tasks)} trainings to run ({len(results)} held in {args.out})", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_one, key, ds, recipe): (name, key, recipe) for name, key, ds, recipe in tasks}
        for future in as_completed(futures):
            name, key, recipe = futures[future]
            results[name] = {"spec": key, "recipe": recipe, **future.result()}
            print(f"{name}: test {results[name]['test_accuracy']:.3f} (val {results[name]['val_accuracy']:.3f}, "
                  f"epoch {results[name]['best_epoch']}, {results[name]['selected']}), "
                  f"{results[name]['cpu_seconds']:.0f} CPU-s", flush=True)
            record = {"command": command, "arms": arms, "specs": specs, "results": results}
            args.out.write_text(json.dumps(record, indent=2) + "\n")
    cpu = sum(r["cpu_seconds"] for r in results.values())
    print(f"\n$ {command}")
    print(f"{args.candidates} candidates x {len(arms)} arms, {args.epochs} epochs at {args.resolution} px; "
          f"{cpu:.0f} CPU-s in all held ({time.perf_counter() - start:.0f} s wall this run); raw: {args.out}")
    print(summary(results, datasets, list(arms), args.candidates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
