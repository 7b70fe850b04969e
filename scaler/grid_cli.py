"""``python -m scaler grid``: grid-search alpha, beta, gamma on a base network by proxy training, or at full
fidelity (``--fidelity full``: the candidates, then the winner's family and its baselines trained with the recipe).

The options are ``GridConfig``'s fields: each flag's type, default and help come from the field
(``searchspace.fields.add_field_flag``), so the command line cannot drift from the config; the recipe's fields are
``--full-*`` flags (as ``nas proxy-check``'s). Optuna, Ray and torch are imported only when a grid runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaler.bases import add_base_arguments, load_base
from searchspace.errors import SpecError
from searchspace.fields import add_field_flag, description, field_at, set_flags
from searchspace.table import format_table
from workers.search import add_flag_set, config_flags, given_flags
from workers.training import TrainRecipe

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
    "--fidelity": "fidelity",
}
# The full-fidelity recipe's fields (each network trains at its own resolution, each run with its own seed).
RECIPE_FLAGS = {"--full-" + flag[2:]: path for flag, path in config_flags(TrainRecipe, "recipe.",
                                                                           skip=("resolution", "seed")).items()}
LISTS = {"--phis": ("phis", float), "--baselines": ("baselines", str)}
# SpecError.field -> the option the user typed.
_OPTIONS = {**{path.rsplit(".", 1)[-1]: flag for flag, path in FLAGS.items()}, "resolution": "--resolution",
            "dataset.source": "--dataset", "max_gib": "--dataset", **{p: f for f, p in RECIPE_FLAGS.items()},
            **{path: flag for flag, (path, _) in LISTS.items()}, "out": "--out", "latency.device": "--profile"}
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


def _listed(kind: type) -> Any:
    """A comma-separated list of ``kind``."""
    def parse(text: str) -> list[Any]:
        try:
            return [kind(v.strip()) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"a comma-separated list of {kind.__name__}s, got {text!r:.60}") from None
    return parse


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
        "--proxy-depth at --resolution px (defaults 0.5, 0.5, 32: about 10-15 s a run, one candidate and seed, on an idle CPU). "
        "With --fidelity full each candidate trains with the recipe (--full-* flags) instead and is ranked by its "
        "validation accuracy; then the winner's family (--phis) and the baselines fitted to each member's MACs "
        "(--baselines) train the same way, their products go under --out, and the family's test accuracy, MACs "
        "and latency print beside the baselines'.",
    )
    from scaler.grid_config import GridConfig

    add_base_arguments(grid)
    for flag, path in FLAGS.items():
        add_field_flag(grid, flag, GridConfig, path)
    add_field_flag(grid, "--resolution", GridConfig, "resolution", type=_resolution, default=argparse.SUPPRESS,
                   metavar="PX|base")
    add_flag_set(grid, GridConfig, RECIPE_FLAGS)
    for flag, (path, kind) in LISTS.items():
        grid.add_argument(flag, type=_listed(kind), metavar="A,B", help=(
            f"{description(field_at(GridConfig, path)[0])} (comma-separated; default "
            f"{','.join(f'{v:g}' if kind is float else v for v in getattr(GridConfig(), path))})"))
    grid.add_argument("--out", metavar="DIR", help="full fidelity: directory of every trained network's product "
                                                   "(rerun the same command to resume)")
    grid.add_argument("--profile", metavar="FILE.json", help="full fidelity: predict the family's latency from "
                                                              "this device profile instead of measuring it")
    grid.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    grid.add_argument("--storage", default=DEFAULT_STORAGE, metavar="URL",
                      help=f"SQLAlchemy URL of the service database (default {DEFAULT_STORAGE})")
    grid.add_argument("--study", metavar="NAME", help="study name (default: derived from base and settings)")
    grid.add_argument("--json", action="store_true", help="print the ranked list and the choice as JSON")
    grid.set_defaults(handler=run_grid_command, parser=grid)


def build_config(args: argparse.Namespace, profile_id: str | None = None) -> GridConfig:
    """A GridConfig from the options given (GridConfig's defaults for the others); ``profile_id``: the latency
    device of ``--profile``."""
    from scaler.grid_config import GridConfig

    data = set_flags({}, args, FLAGS)
    data.update(given_flags(args, RECIPE_FLAGS))
    data.update({path: list(getattr(args, flag[2:])) for flag, (path, _) in LISTS.items()
                 if getattr(args, flag[2:]) is not None})
    if hasattr(args, "resolution"):  # absent unless given ('base' gives None)
        data["resolution"] = args.resolution
    if args.no_latency:
        data["latency"] = None
    elif GridConfig().latency is not None and args.threads is not None:  # time on the threads it trains on
        data["latency"] = {**GridConfig().latency.to_dict(), "threads": args.threads}
    if profile_id is not None and not args.no_latency:
        data["latency"] = {**(data.get("latency") or GridConfig().latency.to_dict()), "device": profile_id}
    return GridConfig.from_dict(data)


def _profile(args: argparse.Namespace) -> Any:
    """The device profile of ``--profile`` (None without it)."""
    from searchspace.latency_table import DeviceProfile

    if args.profile is None:
        return None
    try:
        return DeviceProfile.from_json(Path(args.profile).read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError("latency.device", f"cannot read {args.profile!r}: {err}") from None


def run_grid_command(args: argparse.Namespace) -> int:
    import optuna
    import sqlalchemy.exc

    from scaler.family_train import run_scaling
    from workers.data import DatasetError
    from workers.latency import file_profile_id

    parser: argparse.ArgumentParser = args.parser
    base = load_base(args)
    try:
        profile = _profile(args)
        config = build_config(args, None if profile is None else file_profile_id(profile))
    except SpecError as err:
        parser.error(f"{_OPTIONS.get(err.field, '--' + err.field.replace('_', '-'))}: {err.message}")
    except DatasetError as err:
        parser.error(f"--dataset: {err}")

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def progress(result: CandidateResult, done: int, total: int) -> None:
        if not args.json:
            print(f"[{done}/{total}] {_coefficients(result)}: {_outcome(result)}", file=sys.stderr, flush=True)

    def trained(name: str, figures: dict[str, Any]) -> None:
        if not args.json:
            what = f"failed: {figures['error'][:200]}" if figures.get("error") else (
                f"test accuracy {figures['accuracy']:.4f}")
            print(f"family {name}: {what}", file=sys.stderr, flush=True)

    try:
        result = run_scaling(base, config, args.storage, args.out, study_name=args.study, on_candidate=progress,
                             on_network=trained, profile=profile)
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
        if result.family is not None:
            print(f"\n{result.family.table()}\nstopped: {result.family.stopped}; "
                  f"{result.family.cpu_seconds:.0f} CPU-seconds of family training; products under {result.family.out}")
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
    from scaler.grid_config import Fidelity

    config = result.config
    counts = ", ".join(f"{v} {k}" for k, v in result.counts().items() if v)
    reused = sum(r.reused for r in result.candidates)
    full = config.fidelity is Fidelity.FULL
    training = (f"the recipe's {config.recipe.epochs} epoch(s) (full fidelity; accuracy: validation, the "
                "selected checkpoint's)" if full else f"{config.budget.epochs} epoch(s)")
    headers, rows = list(_HEADERS), [_row(r) for r in result.candidates]
    if full:  # the held-out test accuracy beside the validation accuracy that ranks
        headers.insert(9, "test acc")
        rows = [[*row[:9], r.test_accuracy, *row[9:]] for row, r in zip(rows, result.candidates, strict=True)]
    lines = [
        f"grid {result.study_name} ({args.storage}): {len(result.candidates)} candidates, {counts}"
        + (f" ({reused} from an earlier run)" if reused else ""),
        (
            f"proxy: base x width {config.proxy_width:g}, depth {config.proxy_depth:g} at "
            f"{config.resolution or 'the base'} px, {training} on {config.dataset.source}, "
            f"{config.seeds} seed(s) from {config.seed}; MACs ratio: counted, phi = 1 network of the base over the "
            f"base (held to 2 +/- {config.counted_tolerance:g}); proxy ratio: the trained network's (not held)"
        ),
        "",
        format_table(headers, rows),
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
