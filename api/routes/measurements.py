"""/v1/architectures/{id}/measurements: latencies users measured of a stored architecture on their devices
(``python -m workers measure --architecture ID --service URL`` posts one), beside the architecture's own."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, Limit, SessionDep, Skip
from api.measurements import MeasurementIn, MeasurementPublic, MeasurementsPublic, public_measurement
from store import crud

router = APIRouter(prefix="/architectures", tags=["architectures"])
_NOT_FOUND = {404: {"description": "no such architecture"}}


@router.post("/{architecture_id}/measurements", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
             responses={**_NOT_FOUND, **API_KEY_RESPONSES, **BODY_RESPONSES,
                        409: {"description": "the architecture holds the most measurements kept"},
                        422: {"description": "not a valid measurement: the field and its range are named"}})
def create_measurement(architecture_id: uuid.UUID, body: MeasurementIn,  # type: ignore[valid-type]
                       session: SessionDep) -> MeasurementPublic:
    """Store a latency measured of the architecture (the runtime, threads and batch are the device's)."""
    measurement = body.to_config()  # type: ignore[attr-defined]
    row = crud.add_measurement(session, architecture_id=architecture_id, measurement=measurement)
    latency = crud.get_architecture(session, architecture_id=architecture_id).latency_ms
    return public_measurement(row, latency)


@router.get("/{architecture_id}/measurements", responses=_NOT_FOUND)
def list_measurements(architecture_id: uuid.UUID, session: SessionDep, skip: Skip = 0,
                      limit: Limit = 20) -> MeasurementsPublic:
    """The latencies measured of the architecture, newest first, each with the architecture's latency over it."""
    rows, count = crud.list_measurements(session, architecture_id=architecture_id, skip=skip, limit=limit)
    latency = crud.get_architecture(session, architecture_id=architecture_id).latency_ms
    return MeasurementsPublic(data=[public_measurement(r, latency) for r in rows], count=count)
