"""One router per resource, all under /v1; the web UI at / (``api.routes.ui``).

``router`` holds every resource (behind the read key when the service sets one, see ``api.main``); ``open_router``
what stays open: the health probes and the UI's static files."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    architectures,
    devices,
    finalizes,
    health,
    measurements,
    scaling_searches,
    scalings,
    searches,
    trainings,
    ui,
    zoo,
)

router = APIRouter(prefix="/v1")
for module in (searches, architectures, measurements, scalings, scaling_searches, trainings, finalizes, devices,
               zoo):
    router.include_router(module.router)
router.include_router(finalizes.on_searches)
open_router = APIRouter()
open_router.include_router(health.router, prefix="/v1")
open_router.include_router(ui.router)
