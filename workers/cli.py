"""``python -m workers search``: run an architecture search from a config file and/or flags."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from searchspace.errors import SpecError
from searchspace.table import format_table
from workers.config import SearchConfig
from workers.data import DatasetError
from workers.results import TrialRecord

DEFAULT_STORAGE = "sqlite:///nas-search.db"


def build_config(args: argparse.Namespace) -> SearchConfig:
    """The config file (if any) with the flags given on the command line on top."""
    data: dict[str, Any] = {}
    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise SpecError("--config", f"cannot read {args.config!r}: {err}") from None
    config = SearchConfig.from_dict(data)
    updates: dict[str, Any] = {}
    for flag, name in (("trials", "n_trials"), ("workers", "n_workers"), ("objective", "objective"),
                       ("mode", "mode"), ("target", "target"), ("sampler", "sampler"), ("seed", "seed"),
                       ("timeout", "timeout_s"), ("max_params", "max_params"), ("max_macs", "max_macs"),
                       ("pruner", "pruner")):
        if getattr(args, flag) is not None:
            updates[name] = getattr(args, flag)
    if args.dataset is not None:
        updates["dataset"] = replace(config.dataset, source=args.dataset)
    if args.epochs is not None:
        updates["budget"] = replace(config.budget, epochs=args.epochs)
    if args.subset is not None:
        updates["dataset"] = replace(updates.get("dataset", config.dataset), subset=args.subset)
    merged = {**config.to_dict(), **{k: v for k, v in updates.items() if k not in ("dataset", "budget")}}
    result = SearchConfig.from_dict(merged)
    return replace(result, **{k: v for k, v in updates.items() if k in ("dataset", "budget")})


def default_study_name(config: SearchConfig) -> str:
    """Same config, same study: re-running the same command resumes it."""
    return "search-" + hashlib.sha1(config.to_json().encode()).hexdigest()[:12]


def pareto_table(records: list[TrialRecord]) -> str:
    rows = [[r.number, r.accuracy, r.latency_ms, r.macs, r.params, (r.spec_key or "")[:100]] for r in records]
    return format_table(["trial", "accuracy", "latency ms", "MACs", "params", "architecture"], rows)


def _search(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workers.driver import SearchDriver

    config = build_config(args)
    info = config.dataset.validate()
    study = args.study or default_study_name(config)
    size = config.space.size()
    if not args.json:
        print(f"dataset {info.source}: {info.num_classes} classes, {info.train_size} train / {info.val_size} val; "
              f"search space: {size:.3e} architectures ({len(config.space.stages)} stages)", file=sys.stderr)
    bar = tqdm(total=config.n_trials, desc=study, unit="trial", disable=args.json, file=sys.stderr)

    def progress(record: TrialRecord) -> None:
        if record.state in ("COMPLETE", "PRUNED") and not record.rejected:
            bar.update(1)
        bar.set_postfix_str(f"#{record.number} {record.state.lower()} acc={record.accuracy}")

    result = SearchDriver(config, args.storage, study, on_trial=progress).run()
    bar.close()
    if args.json:
        print(json.dumps({**result.to_dict(), "space_size": size}, indent=2))
        return 0
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(result.counts().items()))
    print(f"study {study} ({args.storage}): {counts}; stopped: {result.stopped}")
    print(pareto_table(result.pareto))
    if result.best:
        print(f"best ({config.mode}): trial {result.best.number}, accuracy {result.best.accuracy:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("search", help="run (or resume) a search and print its Pareto front")
    p.add_argument("--config", help="search config JSON (workers.config.SearchConfig fields)")
    p.add_argument("--dataset", help="digits, an ImageFolder directory or a CIFAR-10 pickle directory")
    p.add_argument("--subset", type=float, help="fraction of the dataset used (per class)")
    p.add_argument("--trials", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--objective", choices=("latency", "macs"))
    p.add_argument("--mode", choices=("pareto", "reward", "constraint"))
    p.add_argument("--target", type=float, help="latency in ms or MACs, for modes reward and constraint")
    p.add_argument("--sampler", choices=("nsga2", "tpe", "random"))
    p.add_argument("--pruner", choices=("none", "median"))
    p.add_argument("--seed", type=int)
    p.add_argument("--timeout", type=float, help="wall-clock budget in seconds")
    p.add_argument("--max-params", dest="max_params", type=int)
    p.add_argument("--max-macs", dest="max_macs", type=int)
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="SQLAlchemy URL of the study storage")
    p.add_argument("--study", help="study name (default: derived from the config, so reruns resume)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_search)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SpecError as err:
        parser.exit(2, f"error: {err}\n")
    except DatasetError as err:
        parser.exit(2, f"error: dataset {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
