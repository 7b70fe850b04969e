"""``nas``: one command for everything the package command lines do.

Each subcommand hands its arguments to the command line that owns it, so ``nas profile --help`` is exactly
``python -m workers profile --help`` (``nas search`` adds the service flags to ``python -m workers search``), and
the ``python -m`` forms keep working:

    nas search                            python -m workers search, and --service-db (jobs.cli)
    nas profile | measure | train | ...   python -m workers ...  (latency, training, finalize)
    nas zoo | show | export               python -m searchspace ...  (reference networks, specs, export)
    nas scale derive | grid               python -m scaler ...       (compound scaling)
    nas serve                             python -m api              (the REST API and web UI)
    nas driver                            python -m jobs             (a driver for the service's queue)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """Where a ``nas`` subcommand goes: the module whose ``main(argv)`` runs it, and whether the subcommand's
    own name is passed on (``nas search`` -> ``workers.cli.main(["search", ...])``) or dropped (``nas serve``)."""

    module: str
    help: str
    keep_name: bool = True


ROUTES: dict[str, Route] = {
    "search": Route("jobs.cli", "run (or resume) a search and print its Pareto front (--service-db: as a search "
                                "of the service)"),
    "finalize": Route("workers.cli", "train a search's top-k and its baselines at full fidelity; proxy truth"),
    "proxy-check": Route("workers.cli", "which proxy setting ranks architectures as full training does, and at what cost"),
    "profile": Route("workers.cli", "time every block a search space can produce on this machine"),
    "measure": Route("workers.cli", "time a model (ONNX file, spec or zoo network) as a user's benchmark loop does"),
    "train": Route("workers.cli", "train one architecture at full fidelity; save trained weights and exports"),
    "train-detector": Route("workers.cli", "train one detector on a box dataset; report its validation and test mAP"),
    "zoo": Route("searchspace.cli", "the reference networks: our counts vs the published ones"),
    "show": Route("searchspace.cli", "per-stage summary of a zoo network or a spec JSON file"),
    "export": Route("searchspace.cli", "a spec as standalone PyTorch code, ONNX or TorchScript"),
    "scale": Route("scaler.cli", "compound scaling: derive a family member, grid-search alpha/beta/gamma",
                   keep_name=False),
    "serve": Route("api.__main__", "serve the REST API and web UI (--with-driver: and run jobs)", keep_name=False),
    "driver": Route("jobs.__main__", "run a driver that claims queued jobs from the service database",
                    keep_name=False),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nas", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, route in ROUTES.items():
        p = sub.add_parser(name, help=route.help, add_help=False)
        p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv[:1])
    route = ROUTES[args.command]
    rest = argv[1:]
    target = importlib.import_module(route.module)
    return int(target.main([args.command, *rest] if route.keep_name else rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
