"""``python -m scaler grid``: grid-search alpha, beta, gamma on a base network by proxy training.

The options are ``GridConfig``'s fields: each flag's type, default and help come from the field
(``searchspace.fields.add_field_flag``), so the command line cannot drift from the config. Optuna, Ray and torch
are imported only when a grid runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from scaler.bases import add_base_arguments, load_base
from searchspace.errors import SpecError
from searchspace.fields import add_field_flag, set_flags
from searchspace.table import format_table

if TYPE_CHECKING:
    from scaler.grid_config import GridConfig
    from scaler.grid_results import CandidateResult, GridResult

DEFAULT_STORAGE = "sqlite:///nas-search.db"  # the service database (as ``python -m workers search``)
# The flags that set a GridConfig field (a dotted path); the field gives type, default and help.
FLAGS = {
    "--dataset": "dataset.source",
    "--subset": "dataset.subset",
    "--step": "step",
    "--tolerance": "tolerance",
    "--counted-tolerance": "counted_tolerance",
    "--max-candidates": "max_candidates",
    "--seeds": "seeds",
    "--significance": "significance",
    "--epochs": "budget.epochs",
    "--proxy-width": "proxy_width",
    "--proxy-depth": "proxy_depth",
    "--workers": "workers",
    "--threads": "threads",
    "--seed": "seed",
    "--retry-failed": "retry_failed",
}
# SpecError.field -> the option the user typed.
_OPTIONS = {**{path.rsplit(".", 1)[-1]: flag for flag, path in FLAGS.items()}, "resolution": "--resolution",
            "dataset.source": "--dataset", "max_gib": "--dataset"}
_HEADERS = ("rank", "alpha", "beta", "gamma", "ratio", "MACs ratio", "proxy ratio", "proxy px", "accuracy",
            "+/- sd", "min", "max", "seeds", "latency ms", "seconds", "status")
_REJECTED_SHOWN = 5


def _resolution(text: str) -> int | None:
    """An input size in pixels, or ``base`` for the base network's own resolution."""
    if text.strip().lower() == "base":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a size in pixels or 'base', got {text!r:.40}") from None


def add_grid(commands: argparse._SubParsersAction) -> None:
    """The ``grid`` subcommand (see ``scaler.cli.add_derive`` for the pattern)."""
    grid = commands.add_parser(
        "grid",
        help="grid-search alpha, beta, gamma by proxy training",
        description="Enumerate alpha, beta, gamma >= 1 on a grid with alpha*beta^2*gamma^2 within a tolerance "
        "of 2, derive each one's phi = 1 network with the rounding that keeps its formula ratio, keep those whose "
        "counted MACs ratio is within --counted-tolerance of 2, proxy-train the "
        "phi = 1 network of each --seeds times in parallel on Ray, rank them by mean validation accuracy "
        "(ties: fewer MACs) and test the winner against the runner-up (paired t-test over seeds). Results go "
        "to the service database: rerunning the same command resumes. "
        "The proxy: each candidate trains the phi = 1 member of the base scaled by --proxy-width and "
        "--proxy-depth at --resolution px (defaults 0.5, 0.5, 32: about 10-15 s a run, one candidate and seed, on an idle CPU).",
    )
    from scaler.grid_config import GridConfig

    add_base_arguments(grid)
    for flag, path in FLAGS.items():
        add_field_flag(grid, flag, GridConfig, path)
    add_field_flag(grid, "--resolution", GridConfig, "resolution", type=_resolution, default=argparse.SUPPRESS,
                   metavar="PX|base")
    grid.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    grid.add_argument("--storage", default=DEFAULT_STORAGE, metavar="URL",
                      help=f"SQLAlchemy URL of the service database (default {DEFAULT_STORAGE})")
    grid.add_argument("--study", metavar="NAME", help="study name (default: derived from base and settings)")
    grid.add_argument("--json", action="store_true", help="print the ranked list and the choice as JSON")
    grid.set_defaults(handler=run_grid_command, parser=grid)


def build_config(args: argparse.Namespace) -> GridConfig:
    """A GridConfig from the options given (GridConfig's defaults for the others)."""
    from scaler.grid_config import GridConfig

    data = set_flags({}, args, FLAGS)
    if hasattr(args, "resolution"):  # absent unless given ('base' gives None)
        data["resolution"] = args.resolution
    if args.no_latency:
        data["latency"] = None
    elif GridConfig().latency is not None and args.threads is not None:  # time on the threads it trains on
        data["latency"] = {**GridConfig().latency.to_dict(), "threads": args.threads}
    return GridConfig.from_dict(data)


def run_grid_command(args: argparse.Namespace) -> int:
    import optuna
    import sqlalchemy.exc

    from scaler.grid import run_grid
    from workers.data import DatasetError

    parser: argparse.ArgumentParser = args.parser
    base = load_base(args)
    try:
        config = build_config(args)
    except SpecError as err:
        parser.error(f"{_OPTIONS.get(err.field, '--' + err.field.replace('_', '-'))}: {err.message}")
    except DatasetError as err:
        parser.error(f"--dataset: {err}")

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def progress(result: CandidateResult, done: int, total: int) -> None:
        if not args.json:
            print(f"[{done}/{total}] {_coefficients(result)}: {_outcome(result)}", file=sys.stderr, flush=True)

    try:
        result = run_grid(base, config, args.storage, study_name=args.study, on_candidate=progress)
    except SpecError as err:
        option = _OPTIONS.get(err.field)
        parser.error(f"{option}: {err.message}" if option else f"--base: the proxy network is invalid: {err}")
    except DatasetError as err:
        parser.error(f"--dataset: {err}")
    except sqlalchemy.exc.SQLAlchemyError as err:
        parser.error(f"--storage: {args.storage!r}: {str(err).splitlines()[0]}")

    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(report(result, args))
    return 0 if result.chosen is not None else 1


def _coefficients(r: CandidateResult) -> str:
    return f"alpha {r.alpha:g}, beta {r.beta:g}, gamma {r.gamma:g}"


def _outcome(r: CandidateResult) -> str:
    from scaler.grid_results import CandidateStatus

    if r.status is CandidateStatus.COMPLETE and r.seed is not None:
        return f"seed {r.seed}: accuracy {r.accuracy:.4f} in {r.eval_seconds or 0:.1f} s" + (
            " (reused)" if r.reused else "")
    if r.status is CandidateStatus.COMPLETE:
        return f"accuracy {r.accuracy:.4f} in {r.eval_seconds or 0:.1f} s" + (" (reused)" if r.reused else "")
    return f"{r.status}: {r.error}" if r.error else r.status


def report(result: GridResult, args: argparse.Namespace) -> str:
    """The ranked table, the failures and the chosen coefficients with the command that scales the base."""
    config = result.config
    counts = ", ".join(f"{v} {k}" for k, v in result.counts().items() if v)
    reused = sum(r.reused for r in result.candidates)
    lines = [
        f"grid {result.study_name} ({args.storage}): {len(result.candidates)} candidates, {counts}"
        + (f" ({reused} from an earlier run)" if reused else ""),
        (
            f"proxy: base x width {config.proxy_width:g}, depth {config.proxy_depth:g} at "
            f"{config.resolution or 'the base'} px, {config.budget.epochs} epoch(s) on {config.dataset.source}, "
            f"{config.seeds} seed(s) from {config.seed}; MACs ratio: counted, phi = 1 network of the base over the "
            f"base (held to 2 +/- {config.counted_tolerance:g}); proxy ratio: the trained network's (not held)"
        ),
        "",
        format_table(_HEADERS, [_row(r) for r in result.candidates]),
    ]
    lines += _rejected(result)
    from scaler.grid_results import CandidateStatus

    failed = [r for r in result.candidates if r.status is CandidateStatus.FAILED]
    if failed:
        lines += ["", "failed:"] + [f"  {_coefficients(r)}: {r.error}" for r in failed]
    chosen = result.chosen
    lines.append("")
    if chosen is None:
        lines.append("no candidate completed: nothing to choose")
        return "\n".join(lines)
    which = f" --base {args.base}" if args.base else (f" --zoo {args.zoo}" if args.zoo else "")
    spread = "" if chosen.accuracy_std is None else f" +/- {chosen.accuracy_std:.4f}"
    lines += [
        (
            f"chosen: {_coefficients(chosen)} (alpha*beta^2*gamma^2 = {chosen.ratio:.3f}, mean accuracy "
            f"{chosen.accuracy:.4f}{spread} over {len(chosen.seeds)} seed(s), phi = 1 MACs ratio "
            f"{chosen.macs_ratio:.3f})"
        ),
        f"winner vs runner-up: {result.comparison.summary()}",
        (
            f"scale with: python -m scaler derive --phi 1{which} --alpha {chosen.alpha:g} --beta {chosen.beta:g} "
            f"--gamma {chosen.gamma:g}"
        ),
    ]
    return "\n".join(lines)


def _rejected(result: GridResult) -> list[str]:
    """The grid points left out untrained, the closest few by name."""
    if not result.rejected:
        return []
    shown = [f"  {_coefficients(r.candidate)} (alpha*beta^2*gamma^2 = {r.candidate.ratio:.3f}): {r.reason}"
             for r in result.rejected[:_REJECTED_SHOWN]]
    more = len(result.rejected) - len(shown)
    return ["", f"rejected untrained, {len(result.rejected)} grid point(s) the formula alone would have let through:",
            *shown,
            *([f"  ... and {more} more (--json lists them all)"] if more else [])]


def _row(r: CandidateResult) -> list[Any]:
    from scaler.grid_results import CandidateStatus

    status = r.status.value + (" (reused)" if r.reused and r.status is CandidateStatus.COMPLETE else "")
    low, high = (min(r.accuracies), max(r.accuracies)) if r.accuracies else (None, None)
    return [r.rank, r.alpha, r.beta, r.gamma, r.ratio, r.macs_ratio, r.proxy_macs_ratio, r.proxy_resolution,
            r.accuracy, r.accuracy_std, low, high, len(r.seeds), r.latency_ms, r.eval_seconds, status]
