"""/v1/architectures/{id}: a stored network, and its download as standalone PyTorch code or ONNX."""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.datasets import public_architecture
from api.deps import SessionDep, SettingsDep
from api.schemas import ArchitecturePublic
from searchspace.spec import ArchSpec
from store import crud
from store.errors import ConflictError
from store.models import Architecture

router = APIRouter(prefix="/architectures", tags=["architectures"])
_NOT_FOUND = {404: {"description": "no such architecture"},
              409: {"description": "no spec recorded (failed trial), or the format cannot express a block"}}
# torch's ONNX exporter keeps global state (it is not reentrant): every export of the process runs on this one
# thread, in turn; waiting requests hold no thread of the pool.
_ONNX_EXPORTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nas-onnx-export")
ONNX_SEED = 0  # the exported weights: the same bytes for the same architecture, every time


def _spec(row: Architecture) -> ArchSpec:
    if row.spec is None:
        raise ConflictError(f"architecture {row.id} has no spec (its trial failed before sampling one)")
    return ArchSpec.from_dict(row.spec)


def _filename(row: Architecture, suffix: str) -> str:
    """A safe download name: the spec's name (letters, digits, _ and - only) and the id's first 8 digits."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", row.name or "architecture").strip("_")[:48] or "architecture"
    return f"{stem}_{row.id.hex[:8]}{suffix}"


@router.get("/{architecture_id}", responses=_NOT_FOUND)
def get_architecture(architecture_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> ArchitecturePublic:
    """Spec, parameters, MACs, measured latency and accuracy, and where it came from (``origin``)."""
    return public_architecture(crud.get_architecture(session, architecture_id=architecture_id), settings)


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


@router.get("/{architecture_id}/onnx", response_class=Response, responses={
    200: {"content": {"application/octet-stream": {}}, "description": "the network as ONNX"}, **_NOT_FOUND})
async def get_onnx(architecture_id: uuid.UUID, session: SessionDep) -> Response:
    """The network exported to ONNX (seeded random weights: the architecture, for deployment tooling; the same
    bytes at every download)."""
    row = await run_in_threadpool(crud.get_architecture, session, architecture_id=architecture_id)
    data = await asyncio.wrap_future(_ONNX_EXPORTER.submit(_onnx, _spec(row)))
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(row, ".onnx")}"'})


def _onnx(spec: ArchSpec) -> bytes:
    """``spec`` as ONNX with weights drawn from ``ONNX_SEED`` (the global RNG's state is restored after)."""
    import torch

    from searchspace.export import to_onnx

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ONNX_SEED)
        return to_onnx(spec)
