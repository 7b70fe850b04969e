"""The FastAPI application: routers, domain-error handlers, the body-size cap, migrations at startup and, for
the embedded default, a driver process beside it (``api.embedded``)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from api.cache import ReadCache
from api.datasets import hide_data_root
from api.deps import ReadKeyDep
from api.embedded import DriverProcess
from api.exports import ExportBusy, ExportCache
from api.middleware import AllowedMethods, BodyLimit, JsonCharset, ServerErrors
from api.routes import open_router, router
from searchspace.errors import SpecError
from searchspace.export import ExportError
from store.db import UNAVAILABLE, migrate
from store.errors import CapacityError, ConflictError, DatabaseUnavailable, NotFoundError
from store.settings import Settings
from workers.data import DatasetError

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5
MAX_ECHO_DEPTH = 32  # nesting of a 422's echoed input
_PART = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")  # [index or map key] or a name
DESCRIPTION = """Neural-architecture search and compound scaling.

Queue a search (`POST /v1/searches`), follow it (`GET /v1/searches/{id}`), read its Pareto front, download any
architecture as a standalone PyTorch file (`GET /v1/architectures/{id}/code`) or ONNX; scale a network with
EfficientNet's compound coefficients (`POST /v1/scalings`) or grid-search them (`POST /v1/scaling-searches`).
Jobs run in driver processes (`python -m jobs`, or `python -m api --with-driver`), never in a request.
"""


def field_loc(field: str) -> list[str | int]:
    """``stages[2].block.kernel`` -> ["body", "stages", 2, "block", "kernel"] (FastAPI's error location); a map
    key in brackets stays whole (``entries[mbconv:se=0.25|1x8x8].ms`` -> ["body", "entries", "mbconv:...", "ms"])."""
    return ["body", *[(int(key) if key.isdigit() else key) if key or not name else name
                      for key, name in _PART.findall(field)]]


def _error(status_code: int, field: str, message: str, kind: str) -> JSONResponse:
    detail = [{"loc": field_loc(field), "field": field, "msg": message, "type": kind}]
    return JSONResponse({"detail": detail}, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors -> 4xx naming the field; never a 500 for bad input."""

    @app.exception_handler(SpecError)
    async def spec_error(_: Request, err: SpecError) -> JSONResponse:
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, err.field or "body", err.message, "spec_error")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, with an echoed ``input`` that is always valid JSON (NaN, lone surrogates)."""
        return JSONResponse({"detail": jsonable_encoder(json_safe(err.errors()))},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(DatasetError)
    async def dataset_error(request: Request, err: DatasetError) -> JSONResponse:
        message = hide_data_root(f"{err.path}: {err.message}", request.app.state.settings)
        return _error(status.HTTP_422_UNPROCESSABLE_CONTENT, "dataset.source", message, "dataset_error")

    @app.exception_handler(ExportError)
    async def export_error(_: Request, err: ExportError) -> JSONResponse:
        return JSONResponse({"detail": f"this architecture cannot be exported to that format: {err}",
                             "part": err.part}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(ExportBusy)
    async def export_busy(_: Request, err: ExportBusy) -> JSONResponse:
        return JSONResponse({"detail": str(err), "limit": "export_queue"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": str(err.retry_after_s)})

    @app.exception_handler(CapacityError)
    async def capacity_error(_: Request, err: CapacityError) -> JSONResponse:
        return JSONResponse({"detail": err.message, "limit": err.field}, status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                            headers={"Retry-After": "30"})

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, err: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ConflictError)
    async def conflict(_: Request, err: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(_: Request, err: DatabaseUnavailable) -> JSONResponse:
        return _unavailable(f"the service database is unavailable ({err}); stored work is safe, retry shortly")

    for infrastructure in UNAVAILABLE:  # raised outside a session scope (e.g. while connecting)
        app.add_exception_handler(infrastructure, _database_error)


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` with what JSON cannot carry spelt out (NaN and infinities as text, lone surrogates escaped) and
    what lies deeper than ``MAX_ECHO_DEPTH`` cut to "...", so that echoing any input can never fail."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {json_safe(k, depth + 1): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    return value


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": str(RETRY_AFTER_S)})


async def _database_error(_: Request, err: Exception) -> JSONResponse:
    return _unavailable(f"the service database is unavailable ({type(err).__name__}); retry shortly")


def create_app(settings: Settings | None = None, *, with_driver: bool = False) -> FastAPI:
    """The service. Migrates the database at startup; ``with_driver`` also runs a driver beside it
    (``api.embedded``: a child process for the API's lifetime)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(settings.database_url)
        driver = DriverProcess(settings) if with_driver else None
        app.state.driver = driver
        if driver is not None:
            driver.start()
        yield
        if driver is not None:
            driver.stop()

    # /docs and /redoc from the swagger-ui and redoc assets fastapi-offline ships (no CDN: they render offline)
    app = FastAPIOffline(title="nas-scaler", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.driver = None  # the embedded driver, while the app runs with one
    app.state.read_cache = ReadCache(settings.read_cache_s)
    app.state.exports = ExportCache(settings.export_dir, settings.export_queue)
    app.include_router(router, dependencies=[ReadKeyDep] if settings.read_key is not None else [])
    app.include_router(open_router)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       by_path={"/v1/devices": settings.max_profile_bytes})
    app.add_middleware(JsonCharset)
    app.add_middleware(AllowedMethods, routes=app.router.routes)
    app.add_middleware(ServerErrors)  # outermost: the others handle their own exceptions first
    return app


