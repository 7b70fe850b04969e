"""One router per resource, all under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import architectures, health, scaling_searches, scalings, searches, zoo

router = APIRouter(prefix="/v1")
for module in (searches, architectures, scalings, scaling_searches, zoo, health):
    router.include_router(module.router)
