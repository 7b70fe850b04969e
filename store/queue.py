"""The job queue over the job tables (one per job kind, each a ``JobMixin`` model): claim, heartbeat, check,
finish. Which tables there are is the job kinds' registry's to say (``jobs.kinds``); this module takes the model.

A driver claims the oldest claimable job: queued, or running with a heartbeat older than ``stale_after_s``
(its driver died; the job resumes from what the database holds). PostgreSQL claims with
``SELECT ... FOR UPDATE SKIP LOCKED``; SQLite with one conditional ``UPDATE ... RETURNING`` (atomic, since
SQLite serialises writers). Every later write is conditional on ``claimed_by``, so a driver that lost its
claim cannot overwrite the new owner's work. The database being away raises DatabaseUnavailable.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, select, update

from store.db import UTCDateTime, get_engine, unavailable_as_domain_error, utcnow
from store.models import Driver, JobMixin, JobState

JobModel = type[JobMixin]


@dataclass(frozen=True)
class Claim:
    model: JobModel
    id: uuid.UUID
    attempts: int


@dataclass(frozen=True)
class Status:
    owned: bool  # still claimed by this driver and running
    exists: bool
    cancel_requested: bool


def new_driver_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def claim(url: str, model: JobModel, *, driver_id: str, stale_after_s: float,
          job_id: uuid.UUID | None = None) -> Claim | None:
    """Claim the oldest queued (or stale running) job of ``model`` for ``driver_id``, or job ``job_id`` if it is
    claimable; None when there is none."""
    engine = get_engine(url)
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    claimable = or_(model.state == JobState.QUEUED,
                    and_(model.state == JobState.RUNNING, or_(model.heartbeat_at.is_(None), model.heartbeat_at < cutoff)))
    values: dict[str, Any] = {
        "state": JobState.RUNNING, "claimed_by": driver_id, "heartbeat_at": now, "attempts": model.attempts + 1,
        "started_at": func.coalesce(model.started_at, literal(now, UTCDateTime())),
    }
    if job_id is not None:
        claimable = and_(claimable, model.id == job_id)
    oldest = select(model.id).where(claimable).order_by(model.created_at, model.id).limit(1)
    with unavailable_as_domain_error(), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            job_id = conn.scalar(oldest.with_for_update(skip_locked=True))
            if job_id is None:
                return None
            row = conn.execute(update(model).where(model.id == job_id).values(**values)
                               .returning(model.id, model.attempts)).one()
        else:
            row = conn.execute(update(model).where(model.id == oldest.scalar_subquery(), claimable).values(**values)
                               .returning(model.id, model.attempts)).one_or_none()
            if row is None:
                return None
    return Claim(model, row[0], row[1])


def heartbeat(url: str, *, driver_id: str, host: str, pid: int, jobs: tuple[Claim, ...] = ()) -> None:
    """Mark this driver alive, and the ``jobs`` it is running (only those: a job whose thread died goes stale)."""
    now = utcnow()
    with unavailable_as_domain_error(), get_engine(url).begin() as conn:
        for model in {c.model for c in jobs}:
            ids = [c.id for c in jobs if c.model is model]
            conn.execute(update(model).where(model.id.in_(ids), model.claimed_by == driver_id,
                                             model.state == JobState.RUNNING).values(heartbeat_at=now))
        if conn.execute(update(Driver).where(Driver.id == driver_id).values(heartbeat_at=now)).rowcount == 0:
            conn.execute(Driver.__table__.insert().values(id=driver_id, host=host[:255], pid=pid, started_at=now,
                                                          heartbeat_at=now))


def unregister(url: str, *, driver_id: str) -> None:
    with unavailable_as_domain_error(), get_engine(url).begin() as conn:
        conn.execute(delete(Driver).where(Driver.id == driver_id))


def status(url: str, model: JobModel, job_id: uuid.UUID, *, driver_id: str) -> Status:
    with unavailable_as_domain_error(), get_engine(url).connect() as conn:
        row = conn.execute(select(model.claimed_by, model.state, model.cancel_requested)
                           .where(model.id == job_id)).one_or_none()
    if row is None:
        return Status(owned=False, exists=False, cancel_requested=False)
    return Status(owned=row[0] == driver_id and row[1] is JobState.RUNNING, exists=True,
                  cancel_requested=bool(row[2]))


def finish(url: str, model: JobModel, job_id: uuid.UUID, *, driver_id: str, state: JobState,
           **fields: Any) -> bool:
    """Set a claimed job's final state (or QUEUED to hand it back); False if this driver no longer owns it."""
    values = {"state": state, **fields}
    if state is JobState.QUEUED:
        values.update(claimed_by=None, heartbeat_at=None)
    else:
        values["finished_at"] = utcnow()
    with unavailable_as_domain_error(), get_engine(url).begin() as conn:
        result = conn.execute(update(model).where(model.id == job_id, model.claimed_by == driver_id,
                                                  model.state == JobState.RUNNING).values(**values))
    return result.rowcount == 1
