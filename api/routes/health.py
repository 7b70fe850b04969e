"""/v1/healthz: the database answers; how many drivers are alive and how many jobs wait."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, SettingsDep
from api.schemas import Health
from jobs.registry import job_models
from store import crud
from store.db import check_writable
from store.models import JobState

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "the database cannot be read or written now"}})
def healthz(session: SessionDep, settings: SettingsDep) -> Health:
    """200 when the database answers reads and takes writes; 503 (with Retry-After) when it does not.
    ``drivers`` = 0 means queued jobs wait for ``python -m jobs``."""
    check_writable(session)
    counts = crud.queue_counts(session, models=job_models())
    return Health(status="ok", database=settings.backend,
                  drivers=crud.live_drivers(session, stale_after_s=settings.stale_after_s),
                  queued=counts[JobState.QUEUED], running=counts[JobState.RUNNING])
