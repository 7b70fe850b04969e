"""``python -m jobs``: the driver process of the service. It claims queued jobs from the service
database (searches and scaling searches), runs them on Ray and records every finished trial as it lands.

One ``Service`` runs up to ``NAS_DRIVER_JOBS`` jobs at once, each in its own thread, and heartbeats them; a
job whose driver died (stale heartbeat) is claimed again by any driver and resumes from its Optuna study, so
nothing completed is lost. Stopping the service (SIGTERM, Ctrl-C, or the API shutting down in embedded mode)
hands its running jobs back to the queue instead of cancelling them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from jobs.dataset_check import check_dataset_again
from store import crud, queue
from store.db import migrate, session_scope
from store.errors import DatabaseUnavailable
from store.models import Search
from store.settings import Settings
from workers.runtime import TRANSIENT, StopReason, until_available

log = logging.getLogger(__name__)
OUTAGE = (*TRANSIENT, DatabaseUnavailable)
T = TypeVar("T")
EvaluateFn = Callable[..., dict[str, Any]]


class JobControl:
    """The stop check a running job polls: cancelled by a user, claim lost, or the service stopping."""

    def __init__(self, service: Service, claim: queue.Claim, check_every_s: float = 1.0) -> None:
        self.service = service
        self.claim = claim
        self.check_every_s = check_every_s
        self.cancelled = self.lost = self.gone = False
        self._next_check = 0.0

    @property
    def interrupted(self) -> bool:
        return self.service.stopping.is_set() and not (self.cancelled or self.lost)

    def should_stop(self) -> StopReason | None:
        """The engine's stop check: interrupted when the service stops, cancelled when cancelled or lost."""
        if self.cancelled or self.lost:
            return StopReason.CANCELLED
        if self.service.stopping.is_set():
            return StopReason.INTERRUPTED
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check = now + self.check_every_s
        try:
            status = queue.status(self.service.url, self.claim.model, self.claim.id, driver_id=self.service.driver_id)
        except DatabaseUnavailable as err:  # the database is briefly unreachable: keep going, check again later
            log.warning("job %s: status check failed: %s", self.claim.id, err)
            return None
        self.cancelled = status.owned and status.cancel_requested
        self.lost = not status.owned
        self.gone = not status.exists
        return StopReason.CANCELLED if self.cancelled or self.lost else None


class Service:
    """A driver: claims jobs, runs them in threads, heartbeats, hands jobs back when stopped."""

    def __init__(self, settings: Settings | None = None, driver_id: str | None = None,
                 evaluate_fn: EvaluateFn | None = None, grid_evaluate_fn: EvaluateFn | None = None) -> None:
        self.settings = settings or Settings()
        # None: the real proxy training (tests pass stand-ins for searches and grid candidates)
        self.evaluate_fn = evaluate_fn
        self.grid_evaluate_fn = grid_evaluate_fn
        self.url = self.settings.database_url
        self.driver_id = driver_id or queue.new_driver_id()
        self.stopping = threading.Event()
        self.threads: dict[queue.Claim, threading.Thread] = {}

    # --- the loop -------------------------------------------------------------------------------------------

    def serve(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set (or forever); then stop the running jobs and hand them back."""
        stop = stop or threading.Event()
        migrate(self.url)
        self._beat_once()
        beat = threading.Thread(target=self._heartbeat_loop, args=(stop,), name="nas-heartbeat", daemon=True)
        beat.start()
        log.info("driver %s serving %s", self.driver_id, self.settings.backend)
        try:
            while not stop.is_set():
                self.threads = {k: t for k, t in self.threads.items() if t.is_alive()}
                claimed = None
                if len(self.threads) < self.settings.driver_jobs:
                    try:
                        claimed = self.claim_next()
                    except DatabaseUnavailable as err:
                        log.warning("driver %s: cannot claim (database unreachable?): %s", self.driver_id, err)
                if claimed is None:
                    stop.wait(self.settings.poll_s)
                    continue
                thread = threading.Thread(target=self.run_job, args=(claimed,), name=f"nas-job-{claimed.id}",
                                          daemon=True)
                self.threads[claimed] = thread
                thread.start()
        finally:
            self.stopping.set()
            for thread in self.threads.values():
                thread.join(timeout=60)
            beat.join(timeout=5)
            try:
                queue.unregister(self.url, driver_id=self.driver_id)
            except DatabaseUnavailable as err:
                log.warning("driver %s: cannot unregister: %s", self.driver_id, err)

    def claim_next(self) -> queue.Claim | None:
        for model in queue.JOB_MODELS:
            claimed = queue.claim(self.url, model, driver_id=self.driver_id,
                                  stale_after_s=self.settings.stale_after_s)
            if claimed is not None:
                return claimed
        return None

    def _beat(self) -> None:
        running = tuple(c for c, t in list(self.threads.items()) if t.is_alive())
        queue.heartbeat(self.url, driver_id=self.driver_id, host=socket.gethostname(), pid=os.getpid(),
                        jobs=running)
        if self.settings.heartbeat_file is not None:
            self.settings.heartbeat_file.touch()

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.settings.heartbeat_s):
            self._beat_once()

    def _beat_once(self) -> None:
        try:
            self._beat()
        except DatabaseUnavailable as err:  # the next beat tries again; the claims stay ours until stale
            log.warning("driver %s: heartbeat failed: %s", self.driver_id, err)

    # --- one job --------------------------------------------------------------------------------------------

    def run_job(self, claimed: queue.Claim) -> None:
        """Run a claimed job to its end; a job that raises is recorded failed with its error."""
        log.info("driver %s: %s %s (attempt %d)", self.driver_id, claimed.model.__tablename__, claimed.id,
                 claimed.attempts)
        if claimed.attempts > self.settings.max_attempts:
            self._finish(claimed, "failed", error=f"abandoned after {claimed.attempts - 1} attempts: its driver "
                                                  "stopped each time (NAS_MAX_ATTEMPTS)")
            return
        control = JobControl(self, claimed)
        try:
            if claimed.model is Search:
                fields = self.run_search(claimed, control)
            else:
                fields = self.run_scaling_search(claimed, control)
        except Exception as err:  # recorded on the job (state failed, error), then the driver goes on
            log.exception("job %s failed", claimed.id)
            if control.interrupted:
                self._finish(claimed, "queued")
            else:
                self._finish(claimed, "failed", error=f"{type(err).__name__}: {err}"[:4000])
            return
        if control.gone:
            self._drop_study(claimed)
        elif control.lost:
            log.warning("job %s: claimed by another driver; leaving it", claimed.id)
        elif control.interrupted:
            self._finish(claimed, "queued")
        else:
            self._finish(claimed, "cancelled" if control.cancelled else "succeeded", **fields)

    def _finish(self, claimed: queue.Claim, state: str, **fields: Any) -> None:
        """Record the job's end (or hand it back), retried while the database is away."""
        finished = until_available(lambda: queue.finish(self.url, claimed.model, claimed.id, driver_id=self.driver_id,
                                                        state=state, **fields),
                                   what=f"job {claimed.id}: record {state}", errors=OUTAGE)
        if not finished:
            log.warning("job %s: no longer ours, state %s not recorded", claimed.id, state)

    def _drop_study(self, claimed: queue.Claim) -> None:
        """The job was deleted while it ran: its Optuna study goes too."""
        if claimed.model is Search:
            until_available(lambda: crud.delete_study(self.url, f"search-{claimed.id.hex}"),
                            what=f"search {claimed.id}: drop its study", errors=OUTAGE)

    def _ensure_ray(self) -> None:
        from workers.runtime import ensure_ray

        ensure_ray(self.settings.ray_cpus or os.cpu_count() or 1)

    def run_search(self, claimed: queue.Claim, control: JobControl) -> dict[str, Any]:
        """Run (or resume) a search's Optuna study, mirroring every told trial into ``architectures``."""
        from workers.search import BaselineRecord, SearchConfig, SearchDriver, TrialRecord

        search = self._in_session(f"search {claimed.id}: read", lambda s: crud.get_search(s, search_id=claimed.id))
        config, study = SearchConfig.from_dict(search.config), search.study_name
        check_dataset_again(config.dataset, self.settings)  # DatasetError: failed with the reason, trials kept

        def mirror(record: TrialRecord) -> None:
            self._in_session(f"search {claimed.id}: mirror trial {record.number}",
                             lambda s: crud.record_trial(s, search_id=claimed.id, record=record))

        def mirror_baseline(record: BaselineRecord) -> None:
            self._in_session(f"search {claimed.id}: mirror baseline {record.name}",
                             lambda s: crud.record_baseline(s, search_id=claimed.id, record=record))

        self._ensure_ray()
        extra: dict[str, Any] = {} if self.evaluate_fn is None else {"evaluate_fn": self.evaluate_fn}
        if config.latency.profile_id is not None:  # latencies predicted from the uploaded table
            extra["profile"] = self._in_session(f"search {claimed.id}: load its device profile", lambda s: (
                crud.load_device_profile(s, profile_id=config.latency.profile_id)))
        driver = SearchDriver(config, self.url, study, should_stop=control.should_stop, on_trial=mirror,
                              on_baseline=mirror_baseline, **extra)
        result = driver.run()
        if not control.gone:  # every trial, including those a dead driver left and this run failed
            self._in_session(f"search {claimed.id}: mirror its trials", lambda s: [
                crud.record_trial(s, search_id=claimed.id, record=record) for record in result.trials]
                + [crud.record_baseline(s, search_id=claimed.id, record=record) for record in result.baselines])
        if result.stopped.startswith((StopReason.LIMITS.value, StopReason.FAILING.value)):  # nothing (good) ran
            raise RuntimeError(result.stopped)
        return {"stopped": result.stopped[:200]}

    def run_scaling_search(self, claimed: queue.Claim, control: JobControl) -> dict[str, Any]:
        """Run (or resume) a grid search; its candidates land in ``result`` as they finish, and the chosen
        coefficients' phi = 1 network is stored as an architecture."""
        from scaler.grid import run_grid
        from scaler.grid_config import GridConfig
        from scaler.grid_results import CandidateResult
        from scaler.scaling import derive
        from searchspace.spec import ArchSpec

        config = dict(self._in_session(f"scaling search {claimed.id}: read",
                                       lambda s: crud.get_scaling_search(s, job_id=claimed.id)).config)
        base, grid = ArchSpec.from_dict(config["base"]), GridConfig.from_dict(config["grid"])
        check_dataset_again(grid.dataset, self.settings)
        finished: list[dict[str, Any]] = []

        def progress(result: CandidateResult, done: int, total: int) -> None:
            finished.append(result.to_dict())
            self._in_session(f"scaling search {claimed.id}: progress", lambda s: crud.set_scaling_progress(
                s, job_id=claimed.id, result={"done": done, "total": total, "finished": list(finished)}))

        self._ensure_ray()
        extra = {} if self.grid_evaluate_fn is None else {"evaluate_fn": self.grid_evaluate_fn}
        result = run_grid(base, grid, self.url, study_name=f"scaling-search-{claimed.id.hex}",
                          should_stop=control.should_stop, on_candidate=progress, **extra)
        data = result.to_dict()
        chosen = result.chosen
        if chosen is not None:
            member = derive(base, chosen.alpha, chosen.beta, chosen.gamma, 1)
            origin = {"kind": "scaling-search", "scaling_search_id": str(claimed.id), "base": config["base_ref"],
                      **{k: v for k, v in member.to_dict().items() if k != "spec"}}
            row = self._in_session(f"scaling search {claimed.id}: store the chosen network", lambda s: crud.add_architecture(
                s, spec=member.spec, params=member.count.params, macs=member.count.macs, origin=origin))
            data["chosen_architecture_id"] = str(row.id)
        return {"result": data}

    def _in_session(self, what: str, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` in one committed session, retried while the database is away."""

        def attempt() -> T:
            with session_scope(self.url) as session:
                return fn(session)

        return until_available(attempt, what=what, errors=OUTAGE)


def main(settings: Settings | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; running jobs go back to the queue for the next driver."""
    import signal

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Service(settings).serve(stop)
    return 0
