"""/v1/searches: queue, follow, cancel and delete architecture searches; their trials and Pareto front."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from api import limits, ranking
from api.datasets import checked_boxes, checked_dataset, hide_data_root, public_architecture
from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, Limit, SessionDep, SettingsDep, Skip
from api.reference_point import hypervolume_reference
from api.routes.jobs import lifecycle_routes
from api.schemas import (
    ArchitecturesPublic,
    BaselinePublic,
    BaselinesPublic,
    JobState,
    SearchCreate,
    SearchesPublic,
    SearchPublic,
    TrialStateName,
)
from jobs.registry import KINDS
from searchspace.errors import SpecError
from searchspace.latency_table import check_covers
from store import crud
from store.db import Role, session_scope
from store.errors import NotFoundError
from store.models import Search
from store.settings import Settings
from workers.runtime import TrialState
from workers.search import SearchConfig

KIND = KINDS["search"]
router = APIRouter(prefix=f"/{KIND.path}", tags=["searches"])


def prepare(body: SearchCreate, settings: Settings) -> SearchConfig:
    """The request as a validated SearchConfig within the service's limits, its data checked."""
    check = checked_boxes if body.task == "detection" else checked_dataset  # the task's kind of data
    return limits.check_search(body.to_config(dataset=check(body.dataset, settings)), settings)


def check_device(session: Session, config: SearchConfig, settings: Settings) -> None:
    """A search naming a device profile: SpecError (422) unless it exists and covers the search space at the
    dataset's classes and channels."""
    profile_id = config.latency.profile_id
    if profile_id is None:
        return
    try:
        profile = crud.load_device_profile(session, profile_id=profile_id)
    except NotFoundError:
        raise SpecError("latency.device", f"no device profile {profile_id!r}: upload one (POST /v1/devices) and "
                                          "name its id, or use cpu / cuda[:i] to measure on the workers") from None
    info = config.dataset.validate(within=settings.data_root, time_limit_s=settings.dataset_check_s)
    check_covers(config.with_data_shape(info.num_classes, info.in_chans).space, profile, profile_id)



def public_baselines(session: Session, search_id: uuid.UUID, settings: Settings) -> list[BaselinePublic]:
    return [BaselinePublic(name=row.name, state=row.state or TrialState.RUNNING, **judged,
                           width=row.origin.get("width"), changes=row.origin.get("changes", []),
                           architecture=public_architecture(row, settings))
            for row, judged in ranking.baselines(session, search_id)]


def to_public(session: Session, search: Search, settings: Settings, baselines: bool = True) -> SearchPublic:
    """The search as a response: its dataset directory (and any path in an error) relative to NAS_DATA_ROOT;
    ``baselines=False`` leaves them out (lists of searches)."""
    best = ranking.best_architecture(session, search)
    return SearchPublic(
        id=search.id, name=search.name, study=KIND.study_of(search), state=search.state, stopped=search.stopped,
        error=hide_data_root(search.error, settings), created_at=search.created_at, started_at=search.started_at,
        finished_at=search.finished_at, elapsed_s=search.elapsed_s, attempts=search.attempts,
        config=hide_data_root(search.config, settings), progress=ranking.progress(session, search),
        best=public_architecture(best, settings) if best else None,
        baselines=public_baselines(session, search.id, settings) if baselines else None,
        hypervolume_reference=hypervolume_reference(session, search, best.spec if best else None) if baselines else None,
        supernet=search.supernet,
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
             responses={**API_KEY_RESPONSES, **BODY_RESPONSES,
                        429: {"description": "too many searches queued or running"}})
def create_search(body: SearchCreate, session: SessionDep, settings: SettingsDep, response: Response) -> SearchPublic:
    """Queue a search; it returns at once and a driver runs it (follow it with GET /v1/searches/{id})."""
    config = prepare(body, settings)
    check_device(session, config, settings)
    search = crud.create_search(session, config=config, name=body.name, max_active=settings.max_concurrent_searches)
    KIND.name_study(search)
    response.headers["Location"] = f"/v1/searches/{search.id}"
    return to_public(session, search, settings)


@router.get("")
def list_searches(session: SessionDep, settings: SettingsDep, skip: Skip = 0, limit: Limit = 20,
                  state: JobState | None = None) -> SearchesPublic:
    """Searches, newest first."""
    rows, count = crud.list_jobs(session, Search, skip=skip, limit=limit, state=state)
    return SearchesPublic(data=[to_public(session, s, settings, baselines=False) for s in rows], count=count)


@router.get("/{search_id}", response_model=SearchPublic, responses={404: {"description": "no such search"}})
async def get_search(search_id: uuid.UUID, request: Request) -> Response:
    """State, trials complete/pruned/failed of the budget, elapsed time and the best architecture so far
    (at most ``NAS_READ_CACHE_S`` old: many pollers of one search cost one database read per period)."""
    url = request.app.state.settings.database_url

    def render() -> bytes:
        with session_scope(url, Role.API) as session:
            search = crud.get_search(session, search_id=search_id)
            return to_public(session, search, request.app.state.settings).model_dump_json().encode()

    body = await request.app.state.read_cache.get((KIND.name, search_id), render)
    return Response(body, media_type="application/json")


@router.get("/{search_id}/trials", responses={404: {"description": "no such search"}})
def list_trials(
    search_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    skip: Skip = 0,
    limit: Limit = 50,
    sort: Literal[crud.SORTABLE] = "number",  # type: ignore[valid-type]
    order: Literal["asc", "desc"] = "asc",
    state: TrialStateName | None = None,
) -> ArchitecturesPublic:
    """The search's trials (each an architecture with its measurements), sorted; missing values sort last."""
    rows, count = crud.list_trials(session, search_id=search_id, skip=skip, limit=limit, sort=sort, order=order,
                                   state=None if state is None else TrialState(state))
    return ArchitecturesPublic(data=[public_architecture(r, settings) for r in rows], count=count)


@router.get("/{search_id}/baselines", responses={404: {"description": "no such search"}})
def list_baselines(search_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> BaselinesPublic:
    """The zoo networks trained beside the search (fitted to its data and MACs range, same budget), each with
    whether the search's front dominates it and by which trial."""
    data = public_baselines(session, search_id, settings)
    return BaselinesPublic(data=data, count=len(data))


@router.get("/{search_id}/pareto", responses={404: {"description": "no such search"}})
def get_pareto(search_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> ArchitecturesPublic:
    """Non-dominated completed trials: accuracy against latency (or MACs), by increasing cost."""
    rows = ranking.pareto(session, search_id)
    return ArchitecturesPublic(data=[public_architecture(r, settings) for r in rows], count=len(rows))


lifecycle_routes(router, KIND, id_name="search_id", to_public=to_public, public=SearchPublic,
                 deletes=", its trials' architectures")
