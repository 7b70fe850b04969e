"""/v1/architectures/{id}: a stored network, and its download as standalone PyTorch code, ONNX, TorchScript or
weights: once trained at full fidelity (``POST /v1/trainings``, a finalize) the trained network's files, else
seeded random weights (built once and cached: ``api.exports``)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.datasets import public_architecture
from api.deps import SessionDep, SettingsDep
from api.exports import FORMATS, Format, address
from api.measurements import SHOWN, ArchitectureDetail, architecture_detail
from searchspace.detection import DetectorSpec, spec_from_dict
from searchspace.spec import ArchSpec
from store import crud
from store.errors import ConflictError
from store.models import Architecture
from store.settings import Settings

router = APIRouter(prefix="/architectures", tags=["architectures"])
_NOT_FOUND = {404: {"description": "no such architecture"},
              409: {"description": "no spec recorded (failed trial), the format cannot express a block, or "
                                   "weights=trained for a network not trained at full fidelity"}}
Weights = Annotated[Literal["trained", "seeded"] | None, Query(description=(
    "trained: the network trained at full fidelity (409 when it was not); seeded: the architecture with seeded "
    "random weights; null: trained when it was trained, else seeded. The X-NAS-Weights header says which"))]
PRODUCT = {"code": "python", "onnx": "onnx", "torchscript": "torchscript", "weights": "weights"}  # -> its file


def _spec(row: Architecture) -> ArchSpec | DetectorSpec:
    """The row's classifier or detector (a detection search's)."""
    if row.spec is None:
        raise ConflictError(f"architecture {row.id} has no spec (its trial failed before sampling one)")
    return spec_from_dict(row.spec)


def _filename(row: Architecture, suffix: str) -> str:
    """A safe download name: the spec's name (letters, digits, _ and - only) and the id's first 8 digits."""
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", row.name or "architecture").strip("_")[:48] or "architecture"
    return f"{stem}_{row.id.hex[:8]}{suffix}"


def _trained_file(row: Architecture, what: str, settings: Settings, weights: str | None) -> Path | None:
    """The trained product's file for download ``what`` (None: serve the seeded one); ConflictError when
    ``weights=trained`` asks for what there is not."""
    if weights == "seeded" or (weights is None and row.trained is None):
        return None
    if row.trained is None:
        raise ConflictError(f"architecture {row.id} was not trained at full fidelity: POST /v1/trainings")
    relative = (row.trained.get("files") or {}).get(PRODUCT[what])
    if relative is None:
        error = (row.trained.get("export_errors") or {}).get(PRODUCT[what], "not written")
        raise ConflictError(f"the trained network of architecture {row.id} has no {what} file: {error}")
    root = settings.artifacts.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ConflictError(f"the trained files of architecture {row.id} are gone from the artifacts directory "
                            "(NAS_ARTIFACTS_DIR); train it again")
    return path


def _trained_response(row: Architecture, path: Path, media_type: str, suffix: str) -> FileResponse:
    return FileResponse(path, media_type=media_type, filename=_filename(row, f"_trained{suffix}"), headers={
        "ETag": f'"trained-{row.trained_by.hex if row.trained_by else ""}-{path.name}"', "X-NAS-Weights": "trained"})


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
def get_code(architecture_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
             weights: Weights = None) -> Response:
    """The network as one standalone PyTorch file with ``build_model(num_classes=...)`` and ``INPUT_SIZE``;
    the trained network's adds ``load_model(path)``, which loads its downloaded weights (``/weights``, a
    ``.safetensors`` file) with torch alone, and the input statistics it was trained with (``INPUT_MEAN``,
    ``INPUT_STD``)."""
    from searchspace.detection.export import detector_to_python
    from searchspace.export import to_python

    row = crud.get_architecture(session, architecture_id=architecture_id)
    trained = _trained_file(row, "code", settings, weights)
    if trained is not None:
        return _trained_response(row, trained, "text/x-python; charset=utf-8", ".py")
    spec = _spec(row)
    code = detector_to_python(spec) if isinstance(spec, DetectorSpec) else to_python(spec)
    return Response(code, media_type="text/x-python; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(row, ".py")}"', "X-NAS-Weights": "seeded"})


@router.get("/{architecture_id}/boxes", responses=_NOT_FOUND)
def get_boxes(architecture_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
              count: Annotated[int, Query(ge=1, le=8, description="validation images shown")] = 4) -> dict:
    """A detector trained at full fidelity (a detection search's finalize) on its first ``count`` validation
    images: each image as a PNG data URL, its true boxes and the trained weights' predictions (score at least
    ``score_threshold``), boxes as [x1, y1, x2, y2] in the image's pixels. 409 for any other network."""
    from api.boxes import predicted_boxes

    row = crud.get_architecture(session, architecture_id=architecture_id)
    if row.spec is None or "backbone" not in row.spec:
        raise ConflictError(f"architecture {row.id} is not a detector")
    weights = _trained_file(row, "weights", settings, "trained")  # a file, or a ConflictError
    if weights is None:
        raise ConflictError(f"architecture {row.id} was not trained at full fidelity")
    return predicted_boxes(row, weights, count)


_BUSY = {503: {"description": "too many exports being built (NAS_EXPORT_QUEUE): retry after Retry-After"}}


async def _artifact(request: Request, session: SessionDep, architecture_id: uuid.UUID, fmt: Format,
                    weights: str | None) -> Response:
    """The trained network's file in ``fmt``, else the stored architecture's seeded artifact (kept, or built
    once: ``api.exports``); 304 when the request's If-None-Match names it."""
    row = await run_in_threadpool(crud.get_architecture, session, architecture_id=architecture_id)
    trained = await run_in_threadpool(_trained_file, row, fmt.name, request.app.state.settings, weights)
    if trained is not None:
        return _trained_response(row, trained, fmt.media_type, fmt.suffix)
    spec = _spec(row)
    etag = f'"{address(spec, fmt)}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    data, _ = await request.app.state.exports.get(spec, fmt)
    return Response(data, media_type=fmt.media_type, headers={
        "ETag": etag, "Content-Disposition": f'attachment; filename="{_filename(row, fmt.suffix)}"',
        "X-NAS-Weights": "seeded"})


def _export_route(fmt: Format, what: str) -> None:
    async def export(architecture_id: uuid.UUID, request: Request, session: SessionDep,
                     weights: Weights = None) -> Response:
        return await _artifact(request, session, architecture_id, fmt, weights)

    export.__name__ = f"get_{fmt.name}"
    export.__doc__ = (f"The network as {what}: once trained at full fidelity, with its trained weights (the "
                      "file its training wrote); else with seeded random weights (the architecture, for deployment "
                      "tooling; the same bytes at every download, built once, then kept: ``ETag`` is its content "
                      "address).")
    router.get(f"/{{architecture_id}}/{fmt.name}", response_class=Response, responses={
        200: {"content": {fmt.media_type: {}}, "description": f"the network as {what}"}, **_NOT_FOUND, **_BUSY,
    })(export)


_export_route(FORMATS["onnx"], "ONNX")
_export_route(FORMATS["torchscript"], "a saved TorchScript module (torch.jit.load)")
_export_route(FORMATS["weights"], "its weights (safetensors)")
