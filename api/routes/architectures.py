"""/v1/architectures/{id}: a stored network, and its download as standalone PyTorch code, ONNX, TorchScript or
weights (the built ones cached: ``api.exports``)."""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.datasets import public_architecture
from api.deps import SessionDep, SettingsDep
from api.exports import FORMATS, Format, address
from api.measurements import SHOWN, ArchitectureDetail, architecture_detail
from searchspace.spec import ArchSpec
from store import crud
from store.errors import ConflictError
from store.models import Architecture

router = APIRouter(prefix="/architectures", tags=["architectures"])
_NOT_FOUND = {404: {"description": "no such architecture"},
              409: {"description": "no spec recorded (failed trial), or the format cannot express a block"}}


def _spec(row: Architecture) -> ArchSpec:
    if row.spec is None:
        raise ConflictError(f"architecture {row.id} has no spec (its trial failed before sampling one)")
    return ArchSpec.from_dict(row.spec)


def _filename(row: Architecture, suffix: str) -> str:
    """A safe download name: the spec's name (letters, digits, _ and - only) and the id's first 8 digits."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", row.name or "architecture").strip("_")[:48] or "architecture"
    return f"{stem}_{row.id.hex[:8]}{suffix}"


@router.get("/{architecture_id}", responses=_NOT_FOUND)
def get_architecture(architecture_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> ArchitectureDetail:
    """Spec, parameters, MACs, latency (predicted or measured: ``latency_source``) and accuracy, where it came
    from (``origin``), and the latencies users measured of it (``measurements``) each with the ratio."""
    arch = public_architecture(crud.get_architecture(session, architecture_id=architecture_id), settings)
    rows, count = crud.list_measurements(session, architecture_id=architecture_id, skip=0, limit=SHOWN)
    return architecture_detail(arch, rows, count)


@router.get("/{architecture_id}/code", response_class=Response, responses={
    200: {"content": {"text/x-python": {}}, "description": "a self-contained .py file (imports only torch)"},
    **_NOT_FOUND})
def get_code(architecture_id: uuid.UUID, session: SessionDep) -> Response:
    """The network as one standalone PyTorch file with ``build_model(num_classes=...)`` and ``INPUT_SIZE``."""
    from searchspace.export import to_python

    row = crud.get_architecture(session, architecture_id=architecture_id)
    code = to_python(_spec(row))
    return Response(code, media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(row, ".py")}"'})


_BUSY = {503: {"description": "too many exports being built (NAS_EXPORT_QUEUE): retry after Retry-After"}}


async def _artifact(request: Request, session: SessionDep, architecture_id: uuid.UUID, fmt: Format) -> Response:
    """The stored architecture's artifact in ``fmt`` (kept, or built once: ``api.exports``); 304 when the
    request's If-None-Match names it."""
    row = await run_in_threadpool(crud.get_architecture, session, architecture_id=architecture_id)
    spec = _spec(row)
    etag = f'"{address(spec, fmt)}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    data, _ = await request.app.state.exports.get(spec, fmt)
    return Response(data, media_type=fmt.media_type, headers={
        "ETag": etag, "Content-Disposition": f'attachment; filename="{_filename(row, fmt.suffix)}"'})


def _export_route(fmt: Format, what: str) -> None:
    async def export(architecture_id: uuid.UUID, request: Request, session: SessionDep) -> Response:
        return await _artifact(request, session, architecture_id, fmt)

    export.__name__ = f"get_{fmt.name}"
    export.__doc__ = (f"The network as {what} (seeded random weights: the architecture, for deployment tooling; "
                      "the same bytes at every download). Built once, then kept (``ETag``: its content address).")
    router.get(f"/{{architecture_id}}/{fmt.name}", response_class=Response, responses={
        200: {"content": {fmt.media_type: {}}, "description": f"the network as {what}"}, **_NOT_FOUND, **_BUSY,
    })(export)


_export_route(FORMATS["onnx"], "ONNX")
_export_route(FORMATS["torchscript"], "a saved TorchScript module (torch.jit.load)")
_export_route(FORMATS["weights"], "its weights (safetensors)")
