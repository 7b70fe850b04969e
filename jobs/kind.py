"""What a job kind is: the ``JobKind`` protocol every kind implements, the running job a kind's ``run`` gets,
and the one function that names a job's Optuna study.

A kind owns its table (a ``store.models.JobMixin`` model), reads its stored configuration, runs the job on the
engine and records what it found; cancelling and deleting (with its studies) are the same for every kind
(``JobKindBase``), a kind adds only what differs. The registry (``jobs.registry``) lists the kinds; the queue,
the routes and the UI read them from there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy.orm import Session

from store import crud
from store.models import JobMixin
from workers.data import DatasetConfig
from workers.runtime import Stop, StopCheck, drop_studies
from workers.search import TrackingConfig

T = TypeVar("T")
InSession = Callable[[str, Callable[[Session], T]], T]


def study_name(kind: str, job_id: uuid.UUID) -> str:
    """The Optuna study of job ``job_id`` of kind ``kind`` (``search-<hex>``, ``scaling-search-<hex>``)."""
    return f"{kind}-{job_id.hex}"


@dataclass(frozen=True)
class RunningJob:
    """A claimed job as its kind runs it: its id and study, the stop check, a committed session retried while
    the database is away (``in_session(what, fn)``), Ray, the evaluation to run (None: the kind's own), the
    dataset re-check and the trackers."""

    id: uuid.UUID
    url: str
    study: str
    should_stop: StopCheck
    in_session: InSession[Any]
    ensure_ray: Callable[[], None]
    evaluate_fn: Callable[..., dict[str, Any]] | None = None
    # the dataset checks of submission (confinement under the data root, regular files, a time limit), run again
    # when the job starts: DatasetError fails it with the reason, its stored trials kept
    check_data: Callable[[DatasetConfig], None] = lambda dataset: None
    tracking: TrackingConfig = TrackingConfig()  # where trials are followed besides the database (MLflow, ...)
    checkpoint_dir: Path | None = None  # where a job keeps files that its resumed run reads (NAS_CHECKPOINT_DIR)

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

    def study_name(self, job_id: uuid.UUID) -> str:
        """The Optuna study the job runs in."""

    def studies(self, job_id: uuid.UUID) -> list[str]:
        """Every Optuna study the job owns (its own and any beside it), dropped with it."""

    def run(self, job: RunningJob) -> JobResult:
        """Run (or resume) the job to its end or a stop, recording its progress as it goes."""

    def record(self, job: RunningJob, result: Any) -> dict[str, Any]:
        """Record what the finished run found; the columns of the job's row to set with its final state."""

    def cancel(self, session: Session, job_id: uuid.UUID) -> JobMixin:
        """Cancel a queued job at once, ask a running one's driver to stop; ConflictError when finished."""

    def delete(self, session: Session, url: str, job_id: uuid.UUID) -> None:
        """Delete a job that is not running, the rows it owns and its studies; ConflictError while it runs."""


class JobKindBase:
    """Cancel and delete, the same for every kind; a kind sets its class attributes and adds the rest."""

    name: ClassVar[str]
    label: ClassVar[str]
    path: ClassVar[str]
    model: ClassVar[type[JobMixin]]
    cancelled_columns: ClassVar[dict[str, Any]] = {}  # set on a job cancelled while queued

    def study_name(self, job_id: uuid.UUID) -> str:
        return study_name(self.name, job_id)

    def studies(self, job_id: uuid.UUID) -> list[str]:
        return [self.study_name(job_id)]

    def get(self, session: Session, job_id: uuid.UUID, for_update: bool = False) -> Any:
        return crud.get_job(session, self.model, job_id=job_id, resource=self.label, for_update=for_update)

    def cancel(self, session: Session, job_id: uuid.UUID) -> JobMixin:
        return crud.cancel_job(session, self.model, job_id=job_id, resource=self.label, **self.cancelled_columns)

    def delete(self, session: Session, url: str, job_id: uuid.UUID) -> None:
        """The row goes when the session commits, after the studies."""
        crud.delete_job(session, self.model, job_id=job_id, resource=self.label,
                        cancel=f"POST /v1/{self.path}/{job_id}/cancel")
        drop_studies(url, self.studies(job_id))

    def __repr__(self) -> str:
        return f"<job kind {self.name}>"
