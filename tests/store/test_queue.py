"""The job queue on both backends: each job claimed once under contention, stale claims re-claimed, writes
conditional on the claim."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy import update

from store import queue
from store.db import get_engine, migrate, session_scope, utcnow
from store.models import ACTIVE_STATES, JobState, ScalingSearch, Search


def _queue_jobs(url: str, n: int) -> list[uuid.UUID]:
    with session_scope(url) as session:
        jobs = [Search(config={"n_trials": 1}) for _ in range(n)]
        session.add_all(jobs)
        session.flush()
        return [j.id for j in jobs]


def _drain(url: str) -> None:
    """Finish whatever earlier tests left claimable, so that each test sees only its own jobs."""
    with get_engine(url).begin() as conn:
        for model in (Search, ScalingSearch):
            conn.execute(update(model).where(model.state.in_(ACTIVE_STATES)).values(state=JobState.CANCELLED))


def test_each_job_is_claimed_exactly_once_under_contention(database_url: str) -> None:
    migrate(database_url)
    _drain(database_url)
    ids = _queue_jobs(database_url, 24)
    claims: list[tuple[str, uuid.UUID]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (claim := queue.claim(database_url, Search, driver_id=name, stale_after_s=3600)) is not None:
            with lock:
                claims.append((name, claim.id))

    threads = [threading.Thread(target=worker, args=(f"driver-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    claimed = [job for _, job in claims]
    assert sorted(claimed) == sorted(ids)  # every job once, none twice
    assert len({name for name, _ in claims}) > 1


def test_oldest_first_and_stale_running_jobs_are_reclaimed(database_url: str) -> None:
    migrate(database_url)
    _drain(database_url)
    first, second = _queue_jobs(database_url, 2)
    a = queue.claim(database_url, Search, driver_id="a", stale_after_s=60)
    assert (a.id, a.attempts) == (first, 1)
    with get_engine(database_url).begin() as conn:  # driver a died a minute ago
        conn.execute(update(Search).where(Search.id == first).values(heartbeat_at=utcnow() - timedelta(seconds=61)))
    b = queue.claim(database_url, Search, driver_id="b", stale_after_s=60)
    assert (b.id, b.attempts) == (first, 2)  # the stale one before the queued one
    assert queue.claim(database_url, Search, driver_id="c", stale_after_s=60).id == second
    assert queue.claim(database_url, Search, driver_id="d", stale_after_s=60) is None

    # a driver that lost its claim can no longer write; the owner can
    assert queue.status(database_url, Search, first, driver_id="a").owned is False
    assert queue.finish(database_url, Search, first, driver_id="a", state=JobState.SUCCEEDED) is False
    assert queue.finish(database_url, Search, first, driver_id="b", state=JobState.SUCCEEDED, stopped="budget") is True
    with session_scope(database_url) as session:
        job = session.get(Search, first)
        assert (job.state, job.claimed_by, job.stopped) == (JobState.SUCCEEDED, "b", "budget")
        assert job.started_at <= job.finished_at


def test_heartbeat_keeps_claims_alive_and_handing_back_requeues(database_url: str) -> None:
    migrate(database_url)
    _drain(database_url)
    job, orphan = _queue_jobs(database_url, 2)
    claim = queue.claim(database_url, Search, driver_id="alive", stale_after_s=0.5)
    assert claim.id == job
    assert queue.claim(database_url, Search, driver_id="alive", stale_after_s=0.5).id == orphan
    for _ in range(3):
        time.sleep(0.3)
        queue.heartbeat(database_url, driver_id="alive", host="test", pid=1, jobs=(claim,))
        stolen = queue.claim(database_url, Search, driver_id="other", stale_after_s=0.5)
        assert stolen is None or stolen.id == orphan  # a claimed job without a running thread goes stale
    assert queue.status(database_url, Search, orphan, driver_id="other").owned
    assert queue.finish(database_url, Search, job, driver_id="alive", state=JobState.QUEUED)
    again = queue.claim(database_url, Search, driver_id="other", stale_after_s=0.5)
    assert (again.id, again.attempts) == (job, 2)
    queue.unregister(database_url, driver_id="alive")
