"""/v1/healthz: the database answers; how many drivers are alive and how many jobs wait."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, SettingsDep
from api.schemas import Health
from store import crud

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep, settings: SettingsDep) -> Health:
    """200 when the database answers. ``drivers`` = 0 means queued jobs wait for ``python -m jobs``."""
    return Health(status="ok", database=settings.backend,
                  drivers=crud.live_drivers(session, stale_after_s=settings.stale_after_s), **crud.queue_counts(session))
