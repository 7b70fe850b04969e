"""``python -m workers proxy-check``: rank random architectures of the space at a grid of proxy settings and at
full fidelity, and recommend the cheapest setting that ranks them as full training does; its flags derive from
ProxyCheckConfig (the data's from DatasetConfig, the full-fidelity recipe's as ``--full-*``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from searchspace.table import format_table
from workers.runtime import StopCheck
from workers.search.finalize_cli import add_flag_set, config_flags, given_flags
from workers.search.proxy_check import ProxyCheckConfig, default_setting, proxy_check
from workers.training import TrainRecipe


def _numbers(kind: type) -> Any:
    def parse(text: str) -> list[Any]:
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"a comma-separated list of {kind.__name__}s, got {text!r}") from None
    return parse


DATA = {"--dataset": "dataset.source", "--format": "dataset.format", "--subset": "dataset.subset",
        "--val-fraction": "dataset.val_fraction", "--test-fraction": "dataset.test_fraction",
        "--data-seed": "dataset.seed"}
OWN = config_flags(ProxyCheckConfig, skip=("dataset", "space", "budget", "recipe"))
FLAGS = {**DATA, **OWN, "--proxy-batch-size": "budget.batch_size", "--proxy-lr": "budget.lr",
         **{"--full-" + flag[2:]: path for flag, path in config_flags(TrainRecipe, "recipe.").items()}}
LISTS = {"--resolutions": _numbers(int), "--epochs": _numbers(int), "--subsets": _numbers(float)}


def add_proxy_check_flags(p: argparse.ArgumentParser) -> None:
    """The ``python -m workers proxy-check`` flags."""
    for flag, parse in LISTS.items():
        p.add_argument(flag, dest=flag[2:], type=parse, metavar="A,B",
                       help=f"proxy {flag[2:]} to try, comma-separated (default "
                            f"{','.join(map(str, getattr(ProxyCheckConfig(), flag[2:])))})")
    add_flag_set(p, ProxyCheckConfig, {f: path for f, path in FLAGS.items() if f not in LISTS})
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def proxy_check_command(args: argparse.Namespace, should_stop: StopCheck | None = None) -> int:
    """Run ``python -m workers proxy-check`` and print each setting's correlation and cost, and the pick."""
    config = ProxyCheckConfig.from_dict(given_flags(args, FLAGS))
    report = proxy_check(config, should_stop)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    default = default_setting()
    rows = []
    for r in report.settings:
        a = r.agreement
        mark = ("recommended" if r is report.recommended else "") + (" (search default)" if r.setting == default
                                                                   else "")
        rows.append([str(r.setting), None if a is None else a.spearman, None if a is None else a.kendall,
                     r.cpu_seconds, mark.strip()])
    print(format_table(["proxy setting", "Spearman", "Kendall", "CPU-s", ""], rows))
    print(f"full fidelity ({config.recipe.epochs} epochs): {report.full_cpu_seconds:.0f} CPU-seconds for "
          f"{len(report.candidates)} architectures")
    for error in report.errors:
        print(f"failed: {error}")
    print(report.sentence)
    return 0
