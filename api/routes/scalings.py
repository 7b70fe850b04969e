"""/v1/scalings: compound scaling of a base network (stored, zoo or spec); the scaled networks are stored."""

from __future__ import annotations

import math

from fastapi import APIRouter, status

from api import limits
from api.bases import resolve_base
from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, SessionDep, SettingsDep
from api.schemas import ArchitecturePublic, ScalingCreate, ScalingsPublic
from scaler.family import official
from scaler.scaling import ScaledSpec, derive
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from store import crud
from store.settings import Settings

router = APIRouter(prefix="/scalings", tags=["scaling"])




def phis(body: ScalingCreate, settings: Settings) -> tuple[list[float], str]:
    """The requested phi values and the field they came from."""
    if body.phi_range is None:
        return [1.0 if body.phi is None else body.phi], "phi"
    r = body.phi_range
    if r.step <= 0:
        raise SpecError("phi_range.step", f"must be positive, got {r.step}")
    if r.stop < r.start:
        raise SpecError("phi_range.stop", f"must be at least start ({r.start}), got {r.stop}")
    span = (r.stop - r.start) / r.step + 1e-9  # infinite when the range overflows a float
    n = math.floor(span) + 1 if math.isfinite(span) else math.inf
    if n > settings.max_phis:
        raise SpecError("phi_range", f"gives {n:,} networks, above this service's limit {settings.max_phis} "
                                     "(NAS_MAX_PHIS)")
    return [round(r.start + i * r.step, 10) for i in range(n)], "phi_range"


def scale_one(base: ArchSpec, body: ScalingCreate, phi: float, field: str) -> ScaledSpec:
    try:
        if body.official:
            if not float(phi).is_integer():
                raise SpecError("phi", f"must be an integer 0..7 with official, got {phi:g}")
            return official(base, int(phi))
        return derive(base, body.alpha, body.beta, body.gamma, phi)
    except SpecError as err:
        if err.field == "phi" and field != "phi":
            raise SpecError(field, f"phi {phi:g}: {err.message}") from None
        raise


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
             responses={**API_KEY_RESPONSES, **BODY_RESPONSES,
                        404: {"description": "base.architecture_id not found"}})
def create_scaling(body: ScalingCreate, session: SessionDep, settings: SettingsDep) -> ScalingsPublic:
    """Scale the base to each phi (depth alpha^phi, width beta^phi, resolution gamma^phi, or the published
    B0..B7 table); every scaled network is stored, so that its code can be downloaded."""
    base, named = resolve_base(session, body.base, settings)
    values, field = phis(body, settings)
    members = [scale_one(base, body, phi, field) for phi in values]
    rows = []
    for phi, member in zip(values, members, strict=True):
        cost = limits.check_spec(member.spec, settings, field)
        origin = {"kind": "scaling", "base": named, **{k: v for k, v in member.to_dict().items() if k != "spec"}}
        origin["phi"] = phi
        rows.append(crud.add_architecture(session, spec=member.spec, params=cost.params, macs=cost.macs,
                                          origin=origin))
    base_cost = members[0].base_count
    return ScalingsPublic(
        base={"name": base.name, "resolution": base.resolution, "params": base_cost.params, "macs": base_cost.macs,
              **named},
        data=[ArchitecturePublic.model_validate(r) for r in rows],
        count=len(rows),
    )
