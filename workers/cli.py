"""``python -m workers search``: run an architecture search from a config file and/or flags."""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from searchspace.errors import SpecError
from searchspace.fields import add_field_flag, description, field_at, flag_error, set_flags
from searchspace.table import format_table
from workers.console import Console, console, log_path_for
from workers.data import DatasetError
from workers.runtime import StopCheck, StopReason, TrialState
from workers.search import SearchConfig, Tracking, TrackingConfig, TrialRecord, trackers_for
from workers.training import DeviceUnavailable

if TYPE_CHECKING:
    from workers.search import SearchResult

DEFAULT_STORAGE = "sqlite:///nas-search.db"


# The flags that set a SearchConfig field (a dotted path into a nested config); the field gives the type,
# the choices, the default and the help text.
FLAGS = {
    "--task": "task",
    "--dataset": "dataset.source",
    "--subset": "dataset.subset",
    "--trials": "n_trials",
    "--workers": "n_workers",
    "--epochs": "budget.epochs",
    "--device": "budget.device",
    "--gpus-per-trial": "budget.gpus_per_trial",
    "--amp": "budget.amp",
    "--objective": "objective",
    "--mode": "mode",
    "--target": "target",
    "--sampler": "sampler",
    "--pruner": "pruner",
    "--seed": "seed",
    "--timeout": "timeout_s",
    "--cpu-budget": "cpu_budget_s",
    "--rung-min-epochs": "rung_min_epochs",
    "--rung-eta": "rung_eta",
    "--max-params": "max_params",
    "--max-macs": "max_macs",
    "--baselines": "baselines",
    "--screen": "screening.proxy",
    "--screen-candidates": "screening.candidates",
    "--strategy": "strategy",
    "--supernet-epochs": "supernet.budget.epochs",
    "--supernet-lr": "supernet.budget.lr",
    "--ddp-workers": "supernet.ddp_workers",
}


NONE_WORDS = ("none", "[]", "")


def _names(text: str) -> list[str]:
    """A comma-separated list of names; ``none`` (or ``[]``, or an empty string) for none."""
    if text.strip().lower() in NONE_WORDS:
        return []
    return [name.strip() for name in text.split(",") if name.strip()]


def _baselines_help() -> str:
    """The field's description, and how to give the list (or none) as one command-line word."""
    field, _, default = field_at(SearchConfig, "baselines")
    return f"{description(field)}; on the command line NAME,NAME or none (default {', '.join(default)})"


OVERRIDES: dict[str, dict[str, Any]] = {
    "--baselines": {"type": _names, "metavar": "NAME,NAME|none", "help": _baselines_help()},
}


def build_config(args: argparse.Namespace) -> SearchConfig:
    """The config file (if any) with the flags given on the command line on top."""
    data: Any = {}
    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise SpecError("--config", f"cannot read {args.config!r}: {err}") from None
        if not isinstance(data, dict):
            raise SpecError("--config", f"{args.config!r} must hold a JSON object")
    from_file = json.loads(json.dumps(data))
    set_flags(data, args, FLAGS)
    try:
        config = SearchConfig.from_dict(data)
    except SpecError as err:
        raise flag_error(err, FLAGS, args, from_file) from None
    if getattr(args, "kinds", None):
        try:
            config = replace(config, space=config.space.with_choices(kinds=tuple(args.kinds)))
        except SpecError as err:
            raise SpecError("--kinds", err.message) from None
    return config


def default_study_name(config: SearchConfig) -> str:
    """Same config, same study: re-running the same command resumes it. The baselines are left out (they live
    in a study of their own): rerun with other baselines, the search resumes and trains the missing ones."""
    data = {k: v for k, v in config.to_dict().items() if k != "baselines"}
    return "search-" + hashlib.sha1(json.dumps(data, indent=2).encode()).hexdigest()[:12]


def pareto_table(records: list[TrialRecord], metric: str = "accuracy") -> str:
    rows = [[r.number, r.accuracy, r.latency_ms, r.macs, r.params, r.fidelity, (r.spec_key or "")[:100]]
            for r in records]
    return format_table(["trial", metric, "latency ms", "MACs", "params", "epochs", "architecture"], rows)


def baselines_table(baselines: list[dict[str, Any]], metric: str = "accuracy") -> str:
    """The baselines beside the front: measurements, fitted width, and whether (and by which trial) it is beaten."""
    def beaten(b: dict[str, Any]) -> str:
        if b["dominated"] is None:
            return f"{b['state'].lower()}: {(b['error'] or '')[:60]}"
        return f"yes (trial {b['dominated_by']})" if b["dominated"] else "no"

    rows = [[b["name"], b["accuracy"], b["latency_ms"], b["macs"], b["params"], b["width"], beaten(b)]
            for b in baselines]
    return format_table(["baseline", metric, "latency ms", "MACs", "params", "width", "dominated by the front"],
                        rows)


@contextmanager
def stop_on_signals() -> Iterator[StopCheck]:
    """While inside: SIGTERM and Ctrl-C ask the search to stop (interrupted, resumable) instead of killing it."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield lambda: StopReason.INTERRUPTED if stopping.is_set() else None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def progress_text(record: TrialRecord) -> str:
    """A finished trial for the progress bar: its number, state and accuracy to four places."""
    accuracy = "" if record.accuracy is None else f" acc={record.accuracy:.4f}"
    return f"#{record.number} {record.state.lower()}{accuracy}"


def search_command(args: argparse.Namespace) -> int:
    """``search``: run (or resume) the search the flags describe in ``--storage``, print its front."""
    config = build_config(args)
    log = Path(args.log_file) if args.log_file else log_path_for(args.storage)
    with console(log, verbose=args.verbose) as term:
        return _run_search(args, config, term)


def announce(config: SearchConfig, term: Console, json_only: bool) -> float:
    """Say on the terminal what the search reads and how large its space is (unless only JSON is printed);
    the space's size."""
    from workers.search import TASKS

    about = TASKS[config.task].describe(config)
    size = config.space.size() * (config.detector.size() if config.task == "detection" else 1)
    if not json_only:
        where = f"; Ray and Optuna messages: {term.log} (--verbose shows them)" if term.log else ""
        print(f"{about}; search space: {size:.3e} architectures ({len(config.space.stages)} stages){where}",
              file=term.err)
    return size


def progress_bar(config: SearchConfig, desc: str, term: Console, disable: bool) -> tuple[Any, Callable[[TrialRecord], None]]:
    """The terminal's progress bar (one step per trial against the budget) and what advances it."""
    from tqdm import tqdm

    bar = tqdm(total=config.n_trials, desc=desc, unit="trial", disable=disable, file=term.err)

    def progress(record: TrialRecord) -> None:
        if record.state in (TrialState.COMPLETE, TrialState.PRUNED) and not record.rejected and record.reused_from is None:
            bar.update(1)
        bar.set_postfix_str(progress_text(record))

    return bar, progress


def supernet_printer(config: SearchConfig, term: Console, json_only: bool) -> Callable[[dict[str, Any]], None]:
    """``on_phase=`` for a one-shot search: a line on the terminal per supernet epoch (unless only JSON is
    printed)."""
    shown = {"epochs": 0}

    def phase(done: dict[str, Any]) -> None:
        epochs = len(done.get("epoch_losses") or [])
        if not json_only and epochs != shown["epochs"]:
            shown["epochs"] = epochs
            last = {k: "-" if done[k][-1] is None else f"{done[k][-1]:.4f}"
                    for k in ("epoch_losses", "largest_accuracies", "smallest_accuracies", "random_accuracies")
                    if done.get(k)}
            print(f"supernet {done['state']}: epoch {epochs}/{config.supernet.budget.epochs}, step {done['step']}, "
                  f"loss {last['epoch_losses']}, largest {last['largest_accuracies']}, smallest "
                  f"{last['smallest_accuracies']}, random median {last.get('random_accuracies', '-')}, "
                  f"{done.get('cpu_seconds') or 0:.0f} CPU-s", file=term.err)

    return phase


def _run_search(args: argparse.Namespace, config: SearchConfig, term: Console) -> int:
    from workers.search import SearchDriver

    profile = None
    if args.profile:
        from workers.search import load_profile_file

        config, profile = load_profile_file(config, args.profile)
    study = args.study or default_study_name(config)
    size = announce(config, term, args.json)
    bar, progress = progress_bar(config, study, term, args.json)
    phase = supernet_printer(config, term, args.json)
    tracking = Tracking(trackers_for(TrackingConfig(mlflow_uri=args.mlflow, tensorboard_dir=args.tensorboard)))
    tracking.start(study, config.to_dict())
    checkpoint_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else log_path_for(args.storage).parent
    with stop_on_signals() as stop:
        result = SearchDriver(config, args.storage, study, on_trial=tracking.around(progress), should_stop=stop,
                              profile=profile, checkpoint_dir=checkpoint_dir, on_phase=phase).run()
    bar.close()
    tracking.finish({f"trials_{state.lower()}": float(n) for state, n in result.counts().items()})
    if result.stopped is not None and result.stopped.reason is StopReason.INTERRUPTED:
        print(f"interrupted: running trials were handed back; rerun the same command to resume {study}",
              file=term.err)
    if args.json:
        print(json.dumps({**result.to_dict(), "space_size": size}, indent=2), file=term.out)
        return 0
    print_result(result, f"study {study} ({args.storage})", config, term.out)
    return 0


def print_result(result: SearchResult, where: str, config: SearchConfig, out: TextIO) -> None:
    """The result for people: counts and why it stopped, the front, the baselines, the early stops, the best."""
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(result.counts().items()))
    print(f"{where}: {counts}; stopped: {result.stopped}", file=out)
    from workers.search import TASKS

    metric = TASKS[config.task].metric
    print(pareto_table(result.pareto, metric), file=out)
    baselines = result.to_dict()["baselines"]
    if baselines:
        beaten = sum(bool(b["dominated"]) for b in baselines)
        print(f"baselines (zoo networks fitted to the data, same budget): the front dominates {beaten} of "
              f"{len(baselines)}", file=out)
        print(baselines_table(baselines, metric), file=out)
    if result.stopped_early:
        stops = ", ".join(f"{n} after {epochs} epochs" for epochs, n in sorted(result.stopped_early.items()))
        print(f"stopped early (kept, off the full-fidelity front): {stops}", file=out)
    if result.best:
        print(f"best ({config.mode}): trial {result.best.number}, {metric} {result.best.accuracy:.4f}", file=out)


# Subcommands whose package adds their flags and runs them: (name, help, module, flags function and its extra
# arguments, command function, whether the command takes a stop check for SIGINT/SIGTERM). Imported only when
# the parser is built.
COMMANDS = (
    ("profile", "time every block a search space can produce on this machine",
     "workers.latency", "add_profile_flags", (), "profile_command", False),
    ("train", "train one architecture at full fidelity; write weights, exports and a report",
     "workers.training", "add_train_flags", (), "train_command", False),
    ("train-detector", "train one detector on a box dataset; report its validation and test mAP",
     "workers.detection", "add_detector_flags", (), "train_detector_command", False),
    ("measure", "time a model (ONNX file, spec or zoo network) as a user's benchmark loop does",
     "workers.latency", "add_measure_flags", (), "measure_command", False),
    ("finalize", "train a search's top-k and its baselines at full fidelity; proxy truth",
     "workers.search", "add_finalize_flags", (DEFAULT_STORAGE,), "finalize_command", True),
    ("proxy-check", "which proxy setting ranks architectures as full training does, and at what cost",
     "workers.search", "add_proxy_check_flags", (), "proxy_check_command", True),
)


def _runner(command: Callable[..., int], stoppable: bool) -> Callable[[argparse.Namespace], int]:
    if not stoppable:
        return command

    def run(args: argparse.Namespace) -> int:
        with stop_on_signals() as stop:
            return command(args, stop)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workers")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("search", help="run (or resume) a search and print its Pareto front")
    p.add_argument("--config", help="search config JSON (workers.search.config.SearchConfig fields)")
    for flag, path in FLAGS.items():
        add_field_flag(p, flag, SearchConfig, path, **OVERRIDES.get(flag, {}))
    p.add_argument("--kinds", type=_names, metavar="KIND,KIND",
                   help="the block kinds every stage of the space offers (default: the space's own; of mbconv, "
                        "ghost, micro)")
    p.add_argument("--profile", help="device profile JSON (python -m workers profile): predict every candidate's "
                                     "latency from its table instead of timing it on the workers")
    p.add_argument("--storage", default=DEFAULT_STORAGE, help="SQLAlchemy URL of the study storage")
    p.add_argument("--checkpoint-dir", metavar="DIR",
                   help="--strategy oneshot: where the supernet's checkpoint (STUDY.supernet.pt) is kept, so that a "
                        "rerun resumes its training and finalize fine-tunes from it (default: beside a SQLite "
                        "storage, else the current directory)")
    p.add_argument("--study", help="study name (default: derived from the config, so reruns resume)")
    p.add_argument("--json", action="store_true",
                   help="print the result as one JSON document on standard output (nothing else goes there)")
    add_field_flag(p, "--mlflow", TrackingConfig, "mlflow_uri", metavar="URI")
    add_field_flag(p, "--tensorboard", TrackingConfig, "tensorboard_dir", metavar="DIR")
    p.add_argument("--log-file", metavar="PATH",
                   help="where Ray's and Optuna's messages go (default: beside a SQLite storage, its name with "
                        "'.log'; else ./nas-search.log)")
    p.add_argument("--verbose", action="store_true",
                   help="show Ray's and Optuna's messages on standard error instead of writing them to the log file")
    p.set_defaults(func=search_command)
    from workers import detection, latency, search, training  # imported only to build the parser

    packages = {p.__name__: p for p in (detection, latency, search, training)}
    for name, help_text, module, flags, flag_args, command, stoppable in COMMANDS:
        package = packages[module]
        p = sub.add_parser(name, help=help_text)
        getattr(package, flags)(p, *flag_args)
        p.set_defaults(func=_runner(getattr(package, command), stoppable))
    return parser


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The subcommand ``name`` of a parser ``build_parser`` made (a front above this package adds flags to it)."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run the command line ``argv``, parsed by ``parser`` (default: ``build_parser()``); a bad flag or dataset
    exits 2 naming it."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SpecError as err:
        parser.exit(2, f"error: {err}\n")
    except DatasetError as err:
        parser.exit(2, f"error: dataset {err}\n")
    except DeviceUnavailable as err:
        parser.exit(2, f"error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
