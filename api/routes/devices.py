"""/v1/devices: upload and read device profiles (latency tables a search predicts candidates' latency from)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, Limit, SessionDep, Skip
from api.derive import inline_schema
from api.device_schemas import DeviceDetail, DeviceProfileIn, DevicePublic, DevicesPublic
from api.schemas import Label
from searchspace.latency_table import DeviceProfile
from store import crud

router = APIRouter(prefix="/devices", tags=["devices"])
_BODY = {"requestBody": {"required": True, "description": "a device profile as written by `python -m workers "
                         "profile` (schema_version, device, correction, reference_ms, entries)",
                         "content": {"application/json": {"schema": inline_schema(DeviceProfileIn)}}}}


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep], openapi_extra=_BODY,
             responses={**API_KEY_RESPONSES, **BODY_RESPONSES,
                        422: {"description": "not a valid profile: the field is named"}})
async def create_device(request: Request, session: SessionDep, response: Response,
                        name: Annotated[Label, Query()] = None) -> DevicePublic:
    """Upload a profile (validated: schema, finite positive latencies, at most NAS_MAX_PROFILE_BYTES); a search
    then names its id in ``latency.device``."""
    profile = DeviceProfile.from_json(await request.body())
    row = crud.create_device_profile(session, profile=profile, name=name)
    response.headers["Location"] = f"/v1/devices/{row.id}"
    return DevicePublic.model_validate(row)


@router.get("")
def list_devices(session: SessionDep, skip: Skip = 0, limit: Limit = 20) -> DevicesPublic:
    """Device profiles, newest first (without their tables)."""
    rows, count = crud.list_device_profiles(session, skip=skip, limit=limit)
    return DevicesPublic(data=[DevicePublic.model_validate(r) for r in rows], count=count)


@router.get("/{device_id}", responses={404: {"description": "no such device profile"}})
def get_device(device_id: uuid.UUID, session: SessionDep) -> DeviceDetail:
    """One profile with its whole table."""
    return DeviceDetail.model_validate(crud.get_device_profile(session, profile_id=device_id))
