"""/v1/healthz (liveness: the database answers; drivers alive, jobs waiting) and /v1/readyz (readiness: 503
unless the service can also run what is queued)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response, status

from api.deps import SessionDep, SettingsDep
from api.schemas import EmbeddedDriver, Health
from jobs.registry import job_models
from store import crud
from store.db import check_writable
from store.models import JobState

router = APIRouter(tags=["health"])
_UNAVAILABLE = {503: {"description": "the database cannot be read or written now (with Retry-After)"}}


def health(request: Request, session: SessionDep, settings: SettingsDep) -> Health:
    """The database answers reads and takes writes (else DatabaseUnavailable: 503), and the queue's state."""
    check_writable(session)
    drivers = crud.live_drivers(session, stale_after_s=settings.stale_after_s)
    counts = crud.queue_counts(session, models=job_models())
    queued, running = counts[JobState.QUEUED], counts[JobState.RUNNING]
    embedded = request.app.state.driver
    return Health(status="degraded" if queued and not drivers else "ok", database=settings.backend,
                  drivers=drivers, queued=queued, running=running,
                  embedded_driver=None if embedded is None else EmbeddedDriver(**asdict(embedded.state())))


@router.get("/healthz", responses=_UNAVAILABLE)
def healthz(request: Request, session: SessionDep, settings: SettingsDep) -> Health:
    """Liveness: 200 when the database answers reads and takes writes; 503 (with Retry-After) when it does not.
    ``status`` is ``degraded`` when jobs are queued and no driver is alive (``drivers`` = 0: they wait for
    ``python -m jobs``, or for the embedded driver to be restarted)."""
    return health(request, session, settings)


@router.get("/readyz", responses={503: {
    "description": "not ready: the database is unavailable, or jobs are queued and no driver is alive"}})
def readyz(request: Request, session: SessionDep, settings: SettingsDep, response: Response) -> Health:
    """Readiness: as /v1/healthz, but 503 when ``status`` is ``degraded`` (queued jobs and no live driver), so
    that an orchestrator's readiness probe sees a service that cannot run its jobs."""
    body = health(request, session, settings)
    if body.status != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "5"
    return body
