"""``python -m workers finalize``: train a finished search's top-k architectures and its baselines at full
fidelity, write their products, and print the proxy truth; its flags derive from FinalizeConfig (and its recipe)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from searchspace.errors import SpecError
from searchspace.fields import add_field_flag, field_at, flag_dest
from workers.console import log_path_for
from workers.runtime import StopCheck
from workers.search.config import SearchConfig
from workers.search.finalize import FinalizeConfig, FinalizeMismatch, finalize
from workers.search.finalize_report import NetworkResult
from workers.search.oneshot import supernet_checkpoint
from workers.training import TrainRecipe


def config_flags(cls: type, prefix: str = "", skip: tuple[str, ...] = ()) -> dict[str, str]:
    """``--flag`` -> dotted field path, for every field of ``cls`` (nested recipe fields under their own names)."""
    return {"--" + f.name.replace("_", "-"): prefix + f.name for f in dataclasses.fields(cls) if f.name not in skip}


FLAGS = {**config_flags(FinalizeConfig, skip=("recipe",)), **config_flags(TrainRecipe, "recipe.")}


def add_flag_set(p: argparse.ArgumentParser, cls: type, flags: dict[str, str]) -> None:
    """A flag per field path (switches as ``--x/--no-x``); a flag not given leaves the field's default."""
    for flag, path in flags.items():
        _, kind, _ = field_at(cls, path)
        add_field_flag(p, flag, cls, path, **({"action": argparse.BooleanOptionalAction} if kind is bool else {}))


def given_flags(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """The flags given on the command line as nested JSON data at their field paths."""
    data: dict[str, Any] = {}
    for flag, path in flags.items():
        value = getattr(args, flag_dest(flag), None)
        if value is None:
            continue
        *parents, name = path.split(".")
        node = data
        for parent in parents:
            node = node.setdefault(parent, {})
        node[name] = value
    return data


def add_finalize_flags(p: argparse.ArgumentParser, default_storage: str) -> None:
    """The ``python -m workers finalize`` flags."""
    p.add_argument("--storage", default=default_storage, help="SQLAlchemy URL of the search's study storage")
    p.add_argument("--study", required=True, help="the search's study name")
    p.add_argument("--search-config", help="the search's config JSON, for a study that does not hold it")
    p.add_argument("--checkpoint-dir", metavar="DIR",
                   help="a one-shot search's --checkpoint-dir, where its supernet (STUDY.supernet.pt) is, which its "
                        "trials inherit from (default: beside a SQLite storage, else the current directory)")
    add_flag_set(p, FinalizeConfig, FLAGS)
    p.add_argument("--out", required=True, help="directory for every network's product and report.json; "
                                                "rerun the same command to resume a killed finalize")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def finalize_command(args: argparse.Namespace, should_stop: StopCheck | None = None) -> int:
    """Run ``python -m workers finalize``: train, then print the networks and the proxy truth; ``should_stop``
    stops it (a rerun resumes each running network from its last epoch)."""
    config = FinalizeConfig.from_dict(given_flags(args, FLAGS))
    search = None
    if args.search_config:
        try:
            search = SearchConfig.from_dict(json.loads(Path(args.search_config).read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise SpecError("--search-config", f"cannot read {args.search_config!r}: {err}") from None

    def progress(network: NetworkResult) -> None:
        if not args.json:
            int8 = network.int8_test_accuracy
            metric = "mAP@[.5:.95]" if network.test_map50 is not None else "accuracy"
            extra = f" (int8 {int8:.4f})" if int8 is not None else (
                f" (mAP@.5 {network.test_map50:.4f})" if network.test_map50 is not None else "")
            what = (f"test {metric} {network.test_accuracy:.4f}{extra}"
                    if network.error is None else f"failed: {network.error[:200]}")
            print(f"{network.candidate.name}: {what}", file=sys.stderr)

    try:
        checkpoint_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else log_path_for(args.storage).parent
        report = finalize(args.storage, args.study, config, args.out, search=search, should_stop=should_stop,
                          on_network=progress, supernet=supernet_checkpoint(checkpoint_dir, args.study))
    except FinalizeMismatch as err:
        raise SpecError("--out", str(err)) from None
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(report.table())
    print(f"{len(report.networks)} networks, {report.cpu_seconds:.0f} CPU-seconds of training; stopped: "
          f"{report.stopped}; report: {Path(args.out) / 'report.json'}")
    return 0
