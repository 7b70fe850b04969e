"""/v1/scaling-searches: the alpha/beta/gamma grid search on a base network, queued as a job."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api import limits
from api.bases import resolve_base
from api.datasets import checked_dataset, hide_data_root
from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, Limit, SessionDep, SettingsDep, Skip
from api.routes.jobs import lifecycle_routes
from api.schemas import JobState, ScalingSearchCreate, ScalingSearchesPublic, ScalingSearchPublic
from jobs.registry import KINDS
from scaler.grid_config import Fidelity, screen
from store import crud
from store.models import ScalingSearch
from store.settings import Settings

KIND = KINDS["scaling-search"]
router = APIRouter(prefix=f"/{KIND.path}", tags=["scaling"])


def to_public(job: ScalingSearch, settings: Settings) -> ScalingSearchPublic:
    """The job as a response: its dataset directory (and any path in its error) relative to NAS_DATA_ROOT."""
    return ScalingSearchPublic(
        id=job.id, name=job.name, study=KIND.study_of(job), state=job.state, error=hide_data_root(job.error, settings),
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, elapsed_s=job.elapsed_s,
        attempts=job.attempts, config=hide_data_root(job.config, settings), result=hide_data_root(job.result, settings),
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
             responses={**API_KEY_RESPONSES, **BODY_RESPONSES,
                        404: {"description": "base.architecture_id not found"}})
def create_scaling_search(body: ScalingSearchCreate, session: SessionDep, settings: SettingsDep,
                          response: Response) -> ScalingSearchPublic:
    """Queue a grid search of alpha, beta, gamma >= 1 with alpha*beta^2*gamma^2 within ``tolerance`` of 2 and a
    counted phi = 1 MACs ratio within ``counted_tolerance`` of 2 (the others are listed as rejected); a driver
    proxy-trains every candidate ``seeds`` times on Ray and ranks them by mean accuracy (ties: fewer MACs).
    The result keeps every candidate's formula and counted MACs ratios, per-seed accuracies, mean and standard
    deviation, the rejected grid points and why, the chosen coefficients, the stored phi = 1 network they give
    and ``comparison``: whether the winner beats the runner-up beyond seed noise (paired t-test, its verdict
    and numbers). With ``fidelity: full`` every candidate trains with ``recipe`` and ranks by validation
    accuracy, then the winner's family (``phis``) and ``baselines`` fitted to each member's MACs train the same
    way: ``result.family`` holds each one's test accuracy per seed, MACs, latency and product directory, and
    each trained member is stored as an architecture (origin kind ``scaling-search`` with its ``phi``)."""
    base, named = resolve_base(session, body.base, settings)
    grid = limits.check_grid(body.to_config(dataset=checked_dataset(body.dataset, settings)), settings)
    kept, rejected = screen(base, grid)
    config = {"base": base.to_dict(), "base_ref": named, "grid": grid.to_dict(), "candidates": len(kept),
              "rejected": len(rejected), "runs": len(kept) * grid.seeds,
              "family_runs": len(grid.phis) * (1 + len(grid.baselines)) * grid.seeds
              if grid.fidelity is Fidelity.FULL else 0}
    job = crud.create_scaling_search(session, config=config, name=body.name)
    KIND.name_study(job)
    response.headers["Location"] = f"/v1/scaling-searches/{job.id}"
    return to_public(job, settings)


@router.get("")
def list_scaling_searches(session: SessionDep, settings: SettingsDep, skip: Skip = 0, limit: Limit = 20,
                          state: JobState | None = None) -> ScalingSearchesPublic:
    """Scaling searches, newest first."""
    rows, count = crud.list_jobs(session, ScalingSearch, skip=skip, limit=limit, state=state)
    return ScalingSearchesPublic(data=[to_public(job, settings) for job in rows], count=count)


@router.get("/{job_id}", responses={404: {"description": "no such scaling search"}})
def get_scaling_search(job_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> ScalingSearchPublic:
    """State and the candidates finished so far; once succeeded, the ranking and the chosen coefficients."""
    return to_public(crud.get_scaling_search(session, job_id=job_id), settings)


lifecycle_routes(router, KIND, id_name="job_id", to_public=lambda session, job, settings: to_public(job, settings),
                 public=ScalingSearchPublic, keeps=" The network it chose stays: an architecture of its own.")
