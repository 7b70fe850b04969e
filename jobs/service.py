"""``python -m jobs``: the driver process of the service. It claims queued jobs of every kind
(``jobs.registry``) from the service database, runs them on Ray and records every finished trial as it lands.

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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from jobs.dataset_check import check_dataset_again
from jobs.kind import JobKind, RunningJob
from jobs.registry import KINDS, kind_of
from store import crud, queue
from store.db import migrate, session_scope
from store.errors import DatabaseUnavailable
from store.models import JobState
from store.settings import Settings
from workers.runtime import TRANSIENT, StopReason, drop_studies, until_available
from workers.search import TrackingConfig

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
                 evaluate_fns: Mapping[str, EvaluateFn] | None = None,
                 on_trial: Callable[[Any], None] | None = None, on_result: Callable[[Any], None] | None = None) -> None:
        """``evaluate_fns``: kind name -> the evaluation its jobs run (tests pass stand-ins; a kind not named
        runs its own); ``on_trial``, ``on_result``: what else sees every job's trial records and results (the
        command line that runs its own search prints them)."""
        self.settings = settings or Settings()
        self.evaluate_fns = dict(evaluate_fns or {})
        self.on_trial = on_trial or (lambda record: None)
        self.on_result = on_result or (lambda result: None)
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
            self._unregister()

    def run_own(self, claimed: queue.Claim) -> None:
        """Run one job this process claimed itself (``nas search --service-db``) to its end or until
        ``stopping`` is set (then it goes back to the queue), heartbeating it meanwhile like ``serve``'s jobs."""
        stop = threading.Event()
        self.threads = {claimed: threading.current_thread()}
        self._beat_once()
        beat = threading.Thread(target=self._heartbeat_loop, args=(stop,), name="nas-heartbeat", daemon=True)
        beat.start()
        try:
            self.run_job(claimed)
        finally:
            stop.set()
            beat.join(timeout=5)
            self.threads = {}
            self._unregister()

    def _unregister(self) -> None:
        try:
            queue.unregister(self.url, driver_id=self.driver_id)
        except DatabaseUnavailable as err:
            log.warning("driver %s: cannot unregister: %s", self.driver_id, err)

    def claim_next(self) -> queue.Claim | None:
        for kind in KINDS.values():
            claimed = queue.claim(self.url, kind.model, driver_id=self.driver_id,
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
        """Run a claimed job to its end; a job that raises, or that stopped because nothing (good) could run, is
        recorded failed with its error."""
        kind = kind_of(claimed.model)
        log.info("driver %s: %s %s (attempt %d)", self.driver_id, kind.name, claimed.id, claimed.attempts)
        if claimed.attempts > self.settings.max_attempts:
            self._finish(claimed, JobState.FAILED, error=f"abandoned after {claimed.attempts - 1} attempts: its "
                                                         "driver stopped each time (NAS_MAX_ATTEMPTS)")
            return
        control = JobControl(self, claimed)
        study = None
        try:
            study = self._in_session(f"{kind.label} {claimed.id}: read its study", lambda s: kind.study_of(
                crud.get_job(s, claimed.model, job_id=claimed.id, resource=kind.label)))
            fields = self._run(kind, claimed, control, study)
        except Exception as err:  # recorded on the job (state failed, error), then the driver goes on
            log.exception("job %s failed", claimed.id)
            if control.interrupted:
                self._finish(claimed, JobState.QUEUED)
            else:
                self._finish(claimed, JobState.FAILED, error=f"{type(err).__name__}: {err}"[:4000])
            return
        if control.gone and study is not None:  # deleted while it ran: its studies go too
            until_available(lambda: drop_studies(self.url, kind.studies(study)),
                            what=f"{kind.label} {claimed.id}: drop its studies", errors=OUTAGE)
        elif control.lost:
            log.warning("job %s: claimed by another driver; leaving it", claimed.id)
        elif control.interrupted:
            self._finish(claimed, JobState.QUEUED)
        elif "error" in fields:
            self._finish(claimed, JobState.FAILED, **fields)
        else:
            self._finish(claimed, JobState.CANCELLED if control.cancelled else JobState.SUCCEEDED, **fields)

    def _run(self, kind: JobKind, claimed: queue.Claim, control: JobControl, study: str) -> dict[str, Any]:
        """Run the job in ``study`` and record what it found (unless it was deleted meanwhile); the columns to
        finish it with, with ``error`` when it stopped because nothing (good) could run."""
        job = RunningJob(id=claimed.id, url=self.url, study=study, on_trial=self.on_trial, on_result=self.on_result,
                         should_stop=control.should_stop, in_session=self._in_session, ensure_ray=self._ensure_ray,
                         evaluate_fn=self.evaluate_fns.get(kind.name),
                         check_data=lambda dataset: check_dataset_again(dataset, self.settings),
                         tracking=TrackingConfig(mlflow_uri=self.settings.mlflow_uri,
                                                 tensorboard_dir=self.settings.tensorboard_dir),
                         checkpoint_dir=self.settings.checkpoint_dir,
                         artifacts=self.settings.artifacts)
        result = kind.run(job)
        job.on_result(result)
        if control.gone:
            return {}
        fields = kind.record(job, result)
        stop = result.stopped
        if stop is not None and stop.reason in (StopReason.LIMITS, StopReason.FAILING):
            fields["error"] = str(stop)[:4000]
        return fields

    def _finish(self, claimed: queue.Claim, state: JobState, **fields: Any) -> None:
        """Record the job's end (or hand it back), retried while the database is away."""
        finished = until_available(lambda: queue.finish(self.url, claimed.model, claimed.id, driver_id=self.driver_id,
                                                        state=state, **fields),
                                   what=f"job {claimed.id}: record {state.value}", errors=OUTAGE)
        if not finished:
            log.warning("job %s: no longer ours, state %s not recorded", claimed.id, state.value)

    def _ensure_ray(self) -> None:
        from workers.runtime import ensure_ray

        ensure_ray(self.settings.ray_cpus or os.cpu_count() or 1)

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
