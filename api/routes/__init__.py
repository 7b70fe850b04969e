"""One router per resource, all under /v1; the web UI at / (``api.routes.ui``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import architectures, devices, health, scaling_searches, scalings, searches, ui, zoo

v1 = APIRouter(prefix="/v1")
for module in (searches, architectures, scalings, scaling_searches, devices, zoo, health):
    v1.include_router(module.router)
router = APIRouter()
router.include_router(v1)
router.include_router(ui.router)
