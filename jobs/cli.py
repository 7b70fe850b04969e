"""``nas search``: the search command line of ``workers`` (``python -m workers search``, every flag the same),
plus one world with the service: ``--service-db URL`` runs the search as a search of the service whose
database that is.

Such a search gets its row in ``searches`` (named by ``--name``, its Optuna study named after it) before its
first trial, is claimed and heartbeaten by this process as a driver would, and has every trial mirrored into
``architectures`` as it lands: the API and the web UI show it while it runs, like a search they queued, and
cancelling it there stops this process at its next check. Ctrl-C (or SIGTERM) hands it back to the service's
queue, where any driver resumes it, or ``--resume ID`` here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from searchspace.errors import SpecError
from workers import cli as workers_cli
from workers.console import Console, console, log_path_for
from workers.data import BOX_BUILT_IN, BUILT_IN
from workers.search import SearchConfig, SearchResult

SERVICE_FLAGS = ("--name", "--resume")  # meaningful only with --service-db


def build_parser() -> argparse.ArgumentParser:
    """``python -m workers``'s parser with the service flags on ``search``."""
    parser = workers_cli.build_parser()
    parser.prog = "nas"
    search = workers_cli.subparser(parser, "search")
    group = search.add_argument_group("one world: the search as a search of the service")
    group.add_argument("--service-db", metavar="URL",
                       help="the service's database (its DATABASE_URL, e.g. sqlite:///nas.db): the search is stored "
                            "there and shows in the API and web UI like any search, its study beside the service's "
                            "(instead of --storage)")
    group.add_argument("--name", help="with --service-db: the search's name in the service; its Optuna study is "
                                      "named after it")
    group.add_argument("--resume", metavar="ID", type=uuid.UUID,
                       help="with --service-db: run the service's search ID here (one handed back by Ctrl-C, or "
                            "queued) with its stored configuration, instead of a new one")
    search.set_defaults(func=search_command)
    return parser


def search_command(args: argparse.Namespace) -> int:
    if args.service_db is None:
        for flag in SERVICE_FLAGS:
            if getattr(args, flag[2:]) is not None:
                raise SpecError(flag, "only with --service-db URL (a plain search names its study with --study)")
        return workers_cli.search_command(args)
    if args.study is not None:
        raise SpecError("--study", "not with --service-db: the service names the study after the search (--name)")
    if args.storage != workers_cli.DEFAULT_STORAGE:
        raise SpecError("--storage", "not with --service-db: the study goes in the service's database")
    from store.settings import Settings

    given = {"mlflow_uri": args.mlflow, "tensorboard_dir": args.tensorboard}  # else NAS_MLFLOW_URI, ... apply
    try:
        settings = Settings(database_url=args.service_db, **{k: v for k, v in given.items() if v is not None})
    except ValidationError as err:
        raise SpecError("--service-db", err.errors()[0]["msg"]) from None
    log = Path(args.log_file) if args.log_file else log_path_for(settings.database_url)
    with console(log, verbose=args.verbose) as term:
        return ServiceSearch(args, settings, term).run()


class ServiceSearch:
    """One search of the service run by this process (see the module docstring)."""

    def __init__(self, args: argparse.Namespace, settings: Any, term: Console) -> None:
        from jobs.service import Service

        self.args, self.settings, self.term = args, settings, term
        self.url = settings.database_url
        self.results: list[SearchResult] = []
        self.service = Service(settings, on_result=self.results.append)

    def run(self) -> int:
        from jobs.registry import KINDS
        from store.db import migrate, session_scope
        from store.models import JobState, Search

        kind, args = KINDS["search"], self.args
        migrate(self.url)
        if args.resume:
            claimed, config = self._resume()
            size = workers_cli.announce(config, self.term, args.json)
        else:  # the data and the flags are checked before anything is stored
            config = workers_cli.build_config(args)
            if config.dataset.source not in (*BUILT_IN, *BOX_BUILT_IN):  # a driver elsewhere may resume it: no relative path
                source = os.path.abspath(config.dataset.source)
                config = replace(config, dataset=replace(config.dataset, source=source))
            size = workers_cli.announce(config, self.term, args.json)
            claimed, config = self._submit(config)
        with session_scope(self.url) as session:
            study = kind.study_of(session.get(Search, claimed.id))
        if not args.json:
            print(f"search {claimed.id} of the service at {self.url}: GET /v1/searches/{claimed.id}, the web UI's "
                  f"#/search/{claimed.id}; Optuna study {study}", file=self.term.err)
        bar, progress = workers_cli.progress_bar(config, args.name or study, self.term, args.json)
        self.service.on_trial = progress  # read when the job starts
        with self._stop_on_signals():
            self.service.run_own(claimed)
        bar.close()
        with session_scope(self.url) as session:
            row = session.get(Search, claimed.id)
            state, error = (row.state, row.error) if row is not None else (None, "deleted while it ran")
        if state is JobState.QUEUED:
            print(f"interrupted: handed back to the service's queue; a driver resumes it, or rerun with "
                  f"--service-db {self.url} --resume {claimed.id}", file=self.term.err)
        if error:
            print(f"error: {error}", file=self.term.err)
        result = self.results[-1] if self.results else None
        if args.json:
            document = {**(result.to_dict() if result else {}), "space_size": size, "search_id": str(claimed.id),
                        "study": study, "state": None if state is None else state.value}
            print(json.dumps(document, indent=2), file=self.term.out)
        elif result is not None:
            workers_cli.print_result(result, f"search {claimed.id} ({state.value if state else 'deleted'}), study "
                                             f"{study}", config, self.term.out)
        return 1 if state is JobState.FAILED or state is None else 0

    def _submit(self, config: SearchConfig) -> tuple[Any, SearchConfig]:
        """Store the search as claimed by this process (and its ``--profile`` as a device profile, which the
        search then names); its claim and config."""
        from jobs.registry import KINDS
        from store import crud, queue
        from store.db import session_scope
        from store.models import Search

        with session_scope(self.url) as session:
            if self.args.profile:  # the table goes to the service's device profiles; the search names its id
                from workers.search import load_profile_file

                _, profile = load_profile_file(config, self.args.profile)
                row = crud.create_device_profile(session, profile=profile, name=None)
                config = replace(config, latency=replace(config.latency, device=str(row.id)))
            search = crud.create_claimed_job(session, Search, driver_id=self.service.driver_id, name=self.args.name,
                                             config=config.to_dict())
            KINDS["search"].name_study(search)
        return queue.Claim(Search, search.id, 1), config

    def _resume(self) -> tuple[Any, SearchConfig]:
        from store import queue
        from store.db import session_scope
        from store.models import Search

        claimed = queue.claim(self.url, Search, driver_id=self.service.driver_id,
                              stale_after_s=self.settings.stale_after_s, job_id=self.args.resume)
        if claimed is None:
            raise SpecError("--resume", f"no search {self.args.resume} waiting to run in {self.url} (running "
                                        "elsewhere, finished, or not there)")
        with session_scope(self.url) as session:
            return claimed, SearchConfig.from_dict(session.get(Search, claimed.id).config)

    @contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """While inside: SIGTERM and Ctrl-C stop the search and hand it back to the queue."""
        previous = {sig: signal.signal(sig, lambda *_: self.service.stopping.set())
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    return workers_cli.main(argv, parser=build_parser())


if __name__ == "__main__":
    sys.exit(main())
