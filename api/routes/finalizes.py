"""``POST /v1/searches/{id}/finalize`` and /v1/finalizes: a search's top-k architectures and its baselines
trained at full fidelity as a job, with the proxy truth (does the proxy rank as full training does, does the fully
trained front still dominate each baseline)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api import limits
from api.datasets import hide_data_root
from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, Limit, SessionDep, SettingsDep, Skip
from api.routes.jobs import lifecycle_routes
from api.schemas import JobState
from api.training_schemas import FinalizeCreate, FinalizePublic, FinalizesPublic
from jobs.registry import KINDS
from store import crud
from store.errors import ConflictError
from store.models import Finalize
from store.settings import Settings
from workers.runtime import TrialState

KIND = KINDS["finalize"]
router = APIRouter(prefix=f"/{KIND.path}", tags=["training"])
on_searches = APIRouter(prefix=f"/{KINDS['search'].path}", tags=["training"])


def to_public(job: Finalize, settings: Settings) -> FinalizePublic:
    """The job as a response (any data path relative to NAS_DATA_ROOT), its proxy truth once it has one."""
    result = hide_data_root(job.result, settings)
    return FinalizePublic(
        id=job.id, name=job.name, state=job.state, error=hide_data_root(job.error, settings),
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, elapsed_s=job.elapsed_s,
        attempts=job.attempts, search_id=job.search_id, config=job.config, result=result,
        proxy_truth=(result or {}).get("proxy_truth"))


@on_searches.post("/{search_id}/finalize", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
                  responses={**API_KEY_RESPONSES, **BODY_RESPONSES, 404: {"description": "no such search"},
                             409: {"description": "the search is still queued or running, or has no completed "
                                                  "trial"}})
def create_finalize(search_id: uuid.UUID, body: FinalizeCreate, session: SessionDep, settings: SettingsDep,
                    response: Response) -> FinalizePublic:
    """Queue the search's finalize: a driver trains its ``top_k`` architectures (the members of its front that
    dominate the most hypervolume, then its next most accurate; by reward or feasible accuracy in the other modes)
    and, with ``baselines``, its fitted baselines at full fidelity with the recipe on Ray, ``workers`` at a time,
    each with a checkpoint every epoch. Every trained network is recorded on its architecture (test accuracy,
    curves, trained downloads); the finalize's result ends with the proxy truth: Spearman and Kendall between proxy
    and full-fidelity test accuracy (in words when weak) and whether the fully trained front dominates each baseline
    at the search's latency or MACs."""
    config = limits.check_finalize(body.to_config(), settings)  # the body first: a 422 names its field
    search = crud.get_search(session, search_id=search_id)
    if search.state.active:
        raise ConflictError(f"search {search_id} is {search.state.value}; finalize it once it has ended")
    if not crud.trial_counts(session, search_id=search_id)[TrialState.COMPLETE]:
        raise ConflictError(f"search {search_id} has no completed trial to finalize")
    job = crud.create_job(session, Finalize, name=body.name, search_id=search_id,
                          config={"finalize": config.to_dict()})
    response.headers["Location"] = f"/v1/{KIND.path}/{job.id}"
    return to_public(job, settings)


@router.get("")
def list_finalizes(session: SessionDep, settings: SettingsDep, skip: Skip = 0, limit: Limit = 20,
                   state: JobState | None = None, search_id: uuid.UUID | None = None) -> FinalizesPublic:
    """Finalizes, newest first (of one search with ``search_id``)."""
    rows, total = crud.list_jobs(session, Finalize, skip=skip, limit=limit, state=state, search_id=search_id)
    return FinalizesPublic(data=[to_public(job, settings) for job in rows], count=total)


@router.get("/{finalize_id}", responses={404: {"description": "no such finalize"}})
def get_finalize(finalize_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> FinalizePublic:
    """State, every network's epochs so far; once ended, each network's full-fidelity figures and the proxy
    truth."""
    return to_public(crud.get_job(session, Finalize, job_id=finalize_id, resource=KIND.label), settings)


lifecycle_routes(router, KIND, id_name="finalize_id", to_public=lambda session, job, settings: to_public(job, settings),
                 public=FinalizePublic, deletes=", its networks' checkpoints and trained files (the architectures "
                                                "stay, without what this job trained)")
