"""/v1/scaling-searches: the alpha/beta/gamma grid search on a base network, queued as a job."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api import crud
from api.deps import ApiKeyDep, SessionDep, SettingsDep
from api.models import ScalingSearch
from api.routes.scalings import resolve_base
from api.routes.searches import checked_dataset
from api.schemas import ScalingSearchCreate, ScalingSearchPublic
from searchspace.checks import check_float, check_int
from searchspace.errors import SpecError

router = APIRouter(prefix="/scaling-searches", tags=["scaling"])


def to_public(job: ScalingSearch) -> ScalingSearchPublic:
    return ScalingSearchPublic(
        id=job.id, name=job.name, state=job.state, error=job.error, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at, elapsed_s=job.elapsed_s, attempts=job.attempts,
        config=job.config, result=job.result,
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
             responses={401: {"description": "API key missing or wrong"},
                        404: {"description": "base.architecture_id not found"}})
def create_scaling_search(body: ScalingSearchCreate, session: SessionDep, settings: SettingsDep,
                          response: Response) -> ScalingSearchPublic:
    """Queue a grid search of alpha, beta, gamma >= 1 with alpha*beta^2*gamma^2 within ``tolerance`` of 2; a
    driver proxy-trains every phi = 1 candidate on Ray and ranks them by accuracy (ties: fewer MACs)."""
    base, named = resolve_base(session, body.base, settings)
    check_float("step", body.step, 0.01, 1.0)
    check_float("tolerance", body.tolerance, 0.0, 1.0)
    if body.max_candidates is not None:
        check_int("max_candidates", body.max_candidates, 1, settings.max_trials)
    if body.resolution is not None:
        check_int("resolution", body.resolution, 8, settings.max_resolution)
    check_int("seed", body.seed, 0, 2**31 - 1)
    budget = body.training.to_config()
    if budget.epochs > settings.max_epochs:
        raise SpecError("training.epochs", f"{budget.epochs} is above this service's limit {settings.max_epochs}")
    dataset = checked_dataset(body.dataset, settings)
    config = {
        "base": base.to_dict(), "base_ref": named, "dataset": dataset.to_dict(),
        "training": budget.to_dict(), "step": body.step, "tolerance": body.tolerance,
        "max_candidates": body.max_candidates, "resolution": body.resolution, "seed": body.seed,
    }
    job = crud.create_scaling_search(session, config=config, name=body.name)
    response.headers["Location"] = f"/v1/scaling-searches/{job.id}"
    return to_public(job)


@router.get("/{job_id}", responses={404: {"description": "no such scaling search"}})
def get_scaling_search(job_id: uuid.UUID, session: SessionDep) -> ScalingSearchPublic:
    """State and, once finished, every candidate's coefficients, MACs ratios and accuracy, and the choice."""
    return to_public(crud.get_scaling_search(session, job_id=job_id))
