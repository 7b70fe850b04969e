"""What a job kind is: the ``JobKind`` protocol every kind implements, the running job a kind's ``run`` gets,
and the one function that names a job's Optuna study.

A kind owns its table (a ``store.models.JobMixin`` model), reads its stored configuration, runs the job on the
engine and records what it found; cancelling and deleting (with its studies) are the same for every kind
(``JobKindBase``), a kind adds only what differs. The registry (``jobs.registry``) lists the kinds; the queue,
the routes and the UI read them from there.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy.orm import Session

from store import crud
from store.models import JobMixin
from store.settings import Settings
from workers.runtime import Stop, StopCheck, drop_studies
from workers.search import TrackingConfig

T = TypeVar("T")
InSession = Callable[[str, Callable[[Session], T]], T]


def study_name(kind: str, job_id: uuid.UUID, name: str | None = None) -> str:
    """The Optuna study of job ``job_id`` of kind ``kind``, carrying the job's name so that optuna-dashboard's
    list says which search it is: ``search-<name>-<hex>`` (the name lower-cased, runs of anything but letters
    and digits as one ``-``, at most 60 characters); ``search-<hex>`` for a job without a name, and for every
    job stored before studies carried names (its row names no study: ``JobKindBase.study_of``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")[:60].strip("-")
    return f"{kind}-{slug}-{job_id.hex}" if slug else f"{kind}-{job_id.hex}"


@dataclass(frozen=True)
class RunningJob:
    """A claimed job as its kind runs it: its id and study, the stop check, a committed session retried while
    the database is away (``in_session(what, fn)``), Ray, the evaluation to run (None: the kind's own), the
    dataset re-check, the trackers and the service's artifacts directory (``Settings.artifacts``)."""

    id: uuid.UUID
    url: str
    study: str
    should_stop: StopCheck
    in_session: InSession[Any]
    ensure_ray: Callable[[], None]
    evaluate_fn: Callable[..., dict[str, Any]] | None = None
    # what else sees each trial record as it lands, and the run's result (a command line's progress and report)
    on_trial: Callable[[Any], None] = lambda record: None
    on_result: Callable[[Any], None] = lambda result: None
    # the dataset checks of submission (confinement under the data root, regular files, a time limit), run again
    # when the job starts: DatasetError fails it with the reason, its stored trials kept
    check_data: Callable[[Any], None] = lambda dataset: None  # a DatasetConfig, or a BoxDatasetConfig
    tracking: TrackingConfig = TrackingConfig()  # where trials are followed besides the database (MLflow, ...)
    checkpoint_dir: Path | None = None  # where a job keeps files that its resumed run reads (NAS_CHECKPOINT_DIR)
    artifacts: Path | None = None  # where a kind that keeps files (trained networks) writes them

    def evaluate(self) -> dict[str, Any]:
        """``evaluate_fn=`` for the kind's runner: empty to keep the runner's default."""
        return {} if self.evaluate_fn is None else {"evaluate_fn": self.evaluate_fn}


class JobResult(Protocol):
    """What a kind's run returns: at least why it stopped."""

    @property
    def stopped(self) -> Stop | None: ...


class JobKind(Protocol):
    """A kind of job (see the module docstring)."""

    name: str  # the kind's key: its registry entry, its studies' prefix, "kind" in the UI
    label: str  # for people: "search", "scaling search"
    path: str  # its REST collection under /v1 ("searches")
    model: type[JobMixin]  # its table

    def config(self, job: JobMixin) -> Any:
        """The job's stored configuration as its domain object."""

    def study_name(self, job_id: uuid.UUID, name: str | None = None) -> str:
        """The Optuna study a new job of this kind runs in (``jobs.kind.study_name``)."""

    def study_of(self, job: JobMixin) -> str:
        """The Optuna study the stored job runs in."""

    def studies(self, study: str) -> list[str]:
        """Every Optuna study a job whose study is ``study`` owns (that one and any beside it), dropped with it."""

    def run(self, job: RunningJob) -> JobResult:
        """Run (or resume) the job to its end or a stop, recording its progress as it goes."""

    def record(self, job: RunningJob, result: Any) -> dict[str, Any]:
        """Record what the finished run found; the columns of the job's row to set with its final state."""

    def cancel(self, session: Session, job_id: uuid.UUID) -> JobMixin:
        """Cancel a queued job at once, ask a running one's driver to stop; ConflictError when finished."""

    def delete(self, session: Session, settings: Settings, job_id: uuid.UUID) -> None:
        """Delete a job that is not running, the rows and files it owns and its studies; ConflictError while it
        runs."""


class JobKindBase:
    """Cancel and delete, the same for every kind; a kind sets its class attributes and adds the rest."""

    name: ClassVar[str]
    label: ClassVar[str]
    path: ClassVar[str]
    model: ClassVar[type[JobMixin]]
    cancelled_columns: ClassVar[dict[str, Any]] = {}  # set on a job cancelled while queued
    keeps_files: ClassVar[bool] = False  # whether its jobs keep files under the artifacts directory

    def study_name(self, job_id: uuid.UUID, name: str | None = None) -> str:
        return study_name(self.name, job_id, name)

    def study_of(self, job: JobMixin) -> str:
        """The study its row names (set when it was queued); a row without one was stored before studies carried
        names, and runs in the unnamed form, so its study stays readable."""
        return getattr(job, "study", None) or self.study_name(job.id)

    def name_study(self, job: JobMixin) -> None:
        """Give a newly stored job (its id flushed) the study named after it, where its table keeps one."""
        if hasattr(type(job), "study"):
            job.study = self.study_name(job.id, getattr(job, "name", None))

    def studies(self, study: str) -> list[str]:
        return [study]

    def get(self, session: Session, job_id: uuid.UUID, for_update: bool = False) -> Any:
        return crud.get_job(session, self.model, job_id=job_id, resource=self.label, for_update=for_update)

    def cancel(self, session: Session, job_id: uuid.UUID) -> JobMixin:
        return crud.cancel_job(session, self.model, job_id=job_id, resource=self.label, **self.cancelled_columns)

    def directory(self, artifacts: Path, job_id: uuid.UUID) -> Path:
        """Where job ``job_id`` keeps its files (``keeps_files``) under the artifacts directory."""
        return artifacts / self.path / job_id.hex

    def delete(self, session: Session, settings: Settings, job_id: uuid.UUID) -> None:
        """The row goes when the session commits, after the studies and the files."""
        study = self.study_of(self.get(session, job_id))
        crud.delete_job(session, self.model, job_id=job_id, resource=self.label,
                        cancel=f"POST /v1/{self.path}/{job_id}/cancel")
        drop_studies(settings.database_url, self.studies(study))
        if self.keeps_files:
            crud.clear_trained(session, job_id=job_id)
            shutil.rmtree(self.directory(settings.artifacts, job_id), ignore_errors=True)

    def __repr__(self) -> str:
        return f"<job kind {self.name}>"
