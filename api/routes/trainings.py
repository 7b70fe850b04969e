"""/v1/trainings: one architecture trained at full fidelity (the recipe), queued as a job; the trained network is
recorded on its architecture, whose downloads then carry the trained weights."""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from api import limits
from api.bases import resolve_base
from api.datasets import checked_dataset, hide_data_root
from api.deps import API_KEY_RESPONSES, BODY_RESPONSES, ApiKeyDep, Limit, SessionDep, SettingsDep, Skip
from api.derive import within
from api.routes.jobs import lifecycle_routes
from api.schemas import JobState
from api.training_schemas import TrainingCreate, TrainingPublic, TrainingsPublic
from jobs.registry import KINDS
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from store import crud
from store.models import Training
from store.settings import Settings
from workers.data import DatasetConfig
from workers.search import SearchConfig
from workers.training import TrainConfig, fitted_zoo, trained_spec

KIND = KINDS["training"]
router = APIRouter(prefix=f"/{KIND.path}", tags=["training"])


def to_public(job: Training, settings: Settings) -> TrainingPublic:
    """The job as a response: its dataset directory (and any path in its error) relative to NAS_DATA_ROOT."""
    return TrainingPublic(
        id=job.id, name=job.name, state=job.state, error=hide_data_root(job.error, settings),
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, elapsed_s=job.elapsed_s,
        attempts=job.attempts, architecture_id=job.architecture_id, config=hide_data_root(job.config, settings),
        result=hide_data_root(job.result, settings))


def _dataset(session: Session, body: TrainingCreate, settings: Settings) -> DatasetConfig:
    """The request's data, checked; without one, a search's architecture's search data (all of it), else
    digits."""
    if body.dataset is not None:
        return checked_dataset(body.dataset, settings)
    dataset = DatasetConfig()
    if body.architecture.architecture_id is not None:
        row = crud.get_architecture(session, architecture_id=body.architecture.architecture_id)
        if row.search_id is not None:
            search = crud.get_search(session, search_id=row.search_id)
            dataset = replace(SearchConfig.from_dict(search.config).dataset, subset=1.0)
    dataset.validate(within=settings.data_root, time_limit_s=settings.dataset_check_s)
    return dataset


def prepare(session: Session, body: TrainingCreate, settings: Settings) -> tuple[ArchSpec, dict[str, str],
                                                                                  TrainConfig]:
    """The architecture (a zoo network fitted to the data), how the request named it, and the training config,
    all within the service's limits; SpecError naming the field otherwise."""
    config: TrainConfig = body.to_config(dataset=_dataset(session, body, settings))
    limits.check_training(config, settings)
    spec, named = resolve_base(session, body.architecture, settings, "architecture")
    info = config.dataset.validate()
    if body.architecture.zoo is not None:
        try:
            spec = fitted_zoo(body.architecture.zoo, info, config.recipe)
        except SpecError as err:
            raise err.within("architecture") from None
    elif spec.in_chans != info.in_chans:
        raise SpecError("architecture", f"takes {spec.in_chans}-channel images, the data has {info.in_chans} "
                                        "channels")
    trained = within("recipe", lambda: trained_spec(spec, info, config.recipe))
    limits.check_spec(trained, settings, "recipe.resolution")
    return spec, named, config


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[ApiKeyDep],
             responses={**API_KEY_RESPONSES, **BODY_RESPONSES,
                        404: {"description": "architecture.architecture_id not found"}})
def create_training(body: TrainingCreate, session: SessionDep, settings: SettingsDep,
                    response: Response) -> TrainingPublic:
    """Queue full-fidelity training of one architecture: a driver trains it on a Ray worker with the recipe
    (a checkpoint every epoch: a job whose driver died resumes from its last epoch), selects the checkpoint on
    the validation split and scores it once on the held-out test split. A zoo network or a spec is stored as an
    architecture first. Once trained, ``GET /v1/architectures/{architecture_id}`` shows its test accuracy beside
    its proxy accuracy, with its learning curves, and its downloads (``/code``, ``/weights``, ``/onnx``,
    ``/torchscript``) carry the trained weights."""
    spec, named, config = prepare(session, body, settings)
    stored = body.architecture.architecture_id is None  # a zoo network or a spec: stored as an architecture
    if stored:
        cost = count(spec)
        row = crud.add_architecture(session, spec=spec, params=cost.params, macs=cost.macs,
                                    origin={"kind": KIND.name, **named})
    else:
        row = crud.get_architecture(session, architecture_id=body.architecture.architecture_id)
    job = crud.create_job(session, Training, name=body.name, architecture_id=row.id,
                          config={"spec": spec.to_dict(), "training": config.to_dict(), "architecture": named})
    if stored:
        row.origin = {**row.origin, "training_id": str(job.id)}
    response.headers["Location"] = f"/v1/{KIND.path}/{job.id}"
    return to_public(job, settings)


@router.get("")
def list_trainings(session: SessionDep, settings: SettingsDep, skip: Skip = 0, limit: Limit = 20,
                   state: JobState | None = None, architecture_id: uuid.UUID | None = None) -> TrainingsPublic:
    """Trainings, newest first (of one architecture with ``architecture_id``)."""
    rows, total = crud.list_jobs(session, Training, skip=skip, limit=limit, state=state,
                                 architecture_id=architecture_id)
    return TrainingsPublic(data=[to_public(job, settings) for job in rows], count=total)


@router.get("/{training_id}", responses={404: {"description": "no such training"}})
def get_training(training_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> TrainingPublic:
    """State and the epochs trained so far; once succeeded, the test accuracy and the product's files."""
    return to_public(crud.get_job(session, Training, job_id=training_id, resource=KIND.label), settings)


lifecycle_routes(router, KIND, id_name="training_id", to_public=lambda session, job, settings: to_public(job, settings),
                 public=TrainingPublic, deletes=", its checkpoint and trained files (the architecture stays, without "
                                                "what this job trained)")
