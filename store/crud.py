"""Keyword-only data functions over a Session. They raise domain errors (NotFoundError, ConflictError,
CapacityError, SpecError), never HTTP errors, and never commit: the caller's session scope does.

Persistence only: which trials are best, on the front or dominate a baseline is the domain's rule
(``workers.search``), applied above this layer (``api.ranking``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from searchspace.latency_table import DeviceProfile
from searchspace.spec import ArchSpec
from store.db import utcnow
from store.errors import CapacityError, ConflictError, NotFoundError
from store.models import (
    ACTIVE_STATES,
    Architecture,
    DeviceProfileRow,
    Driver,
    JobMixin,
    JobState,
    MeasurementRow,
    ScalingSearch,
    Search,
)
from workers.runtime import FINISHED, TrialState

if TYPE_CHECKING:
    from workers.latency import LatencyMeasurement
    from workers.search import BaselineRecord, SearchConfig, TrialRecord

J = TypeVar("J", bound=JobMixin)
SORTABLE = ("number", "accuracy", "latency_ms", "macs", "params")
_SORT_COLUMNS = {"number": Architecture.trial_number, "accuracy": Architecture.accuracy,
                 "latency_ms": Architecture.latency_ms, "macs": Architecture.macs, "params": Architecture.params}
MAX_MEASUREMENTS = 1000  # latency measurements kept per architecture
_BASELINE_STATES = (TrialState.COMPLETE, TrialState.FAIL)  # a baseline is never pruned; null while it trains


# --- jobs of any kind ---------------------------------------------------------------------------------------


def get_job(session: Session, model: type[J], *, job_id: uuid.UUID, resource: str, for_update: bool = False) -> J:
    """The job ``job_id`` of table ``model``; NotFoundError naming ``resource`` when there is none."""
    query = select(model).where(model.id == job_id)
    job = session.scalar(query.with_for_update() if for_update else query)
    if job is None:
        raise NotFoundError(resource, job_id)
    return job


def create_job(session: Session, model: type[J], **columns: Any) -> J:
    """Queue a job of table ``model`` with ``columns`` (its config, name and what it refers to)."""
    job = model(state=JobState.QUEUED, **columns)
    session.add(job)
    session.flush()
    return job


def set_job_result(session: Session, model: type[JobMixin], *, job_id: uuid.UUID, resource: str,
                   result: dict[str, Any]) -> None:
    """Replace a job's ``result`` (its progress, then what it found)."""
    get_job(session, model, job_id=job_id, resource=resource).result = result


def list_jobs(session: Session, model: type[J], *, skip: int, limit: int, state: JobState | None = None,
              **equal: Any) -> tuple[list[J], int]:
    """A page of jobs of table ``model``, newest first, and how many there are; ``equal`` filters columns
    (name -> value; None: not filtered)."""
    where = ([model.state == state] if state else []) + [getattr(model, k) == v for k, v in equal.items()
                                                          if v is not None]
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = session.scalars(select(model).where(*where).order_by(model.created_at.desc(), model.id)
                           .offset(skip).limit(limit))
    return list(rows), total


def create_claimed_job(session: Session, model: type[J], *, driver_id: str, **columns: Any) -> J:
    """Store a new job already running and claimed by ``driver_id`` (its submitter runs it: a command-line
    search), so that no other driver claims it first; the service's limit on queued searches does not apply."""
    now = utcnow()
    job = model(state=JobState.RUNNING, claimed_by=driver_id, heartbeat_at=now, started_at=now, attempts=1,
                **columns)
    session.add(job)
    session.flush()
    return job


def cancel_job(session: Session, model: type[J], *, job_id: uuid.UUID, resource: str, **when_queued: Any) -> J:
    """Queued: cancelled at once (with the columns ``when_queued``). Running: the driver stops at its next
    check. Finished: ConflictError."""
    job = get_job(session, model, job_id=job_id, resource=resource, for_update=True)
    if job.state is JobState.QUEUED:
        job.state, job.finished_at = JobState.CANCELLED, utcnow()
        for column, value in when_queued.items():
            setattr(job, column, value)
    elif job.state is JobState.RUNNING:
        job.cancel_requested = True
    else:
        raise ConflictError(f"{resource} {job_id} is already {job.state.value}")
    return job


def delete_job(session: Session, model: type[JobMixin], *, job_id: uuid.UUID, resource: str, cancel: str) -> None:
    """Delete a job that is not running (with the rows it owns); ConflictError naming ``cancel`` (how to
    cancel it) while it runs."""
    job = get_job(session, model, job_id=job_id, resource=resource, for_update=True)
    if job.state is JobState.RUNNING:
        raise ConflictError(f"{resource} {job_id} is running; cancel it first ({cancel})")
    session.delete(job)


# --- searches -----------------------------------------------------------------------------------------------


def create_search(session: Session, *, config: SearchConfig, name: str | None, max_active: int) -> Search:
    """Queue a search; CapacityError when ``max_active`` searches are already queued or running."""
    active = session.scalar(select(func.count()).select_from(Search).where(Search.state.in_(ACTIVE_STATES)))
    if active is not None and active >= max_active:
        raise CapacityError("max_concurrent_searches",
                            f"{active} searches are queued or running, the limit is {max_active}; retry later")
    search = Search(name=name, config=config.to_dict(), state=JobState.QUEUED)
    session.add(search)
    session.flush()
    return search


def get_search(session: Session, *, search_id: uuid.UUID, for_update: bool = False) -> Search:
    return get_job(session, Search, job_id=search_id, resource="search", for_update=for_update)


def set_supernet_progress(session: Session, *, search_id: uuid.UUID, progress: dict[str, Any]) -> None:
    """Record how far a one-shot search's supernet training got."""
    get_search(session, search_id=search_id).supernet = progress


def trial_counts(session: Session, *, search_id: uuid.UUID) -> dict[TrialState | None, int]:
    """A search's trials per state; rejected ones (pruned before training by a limit) under None."""
    rows = session.execute(
        select(Architecture.state, Architecture.rejected.is_not(None), func.count())
        .where(*_trials_of(search_id))
        .group_by(Architecture.state, Architecture.rejected.is_not(None))
    )
    out: dict[TrialState | None, int] = dict.fromkeys((*FINISHED, None), 0)
    for state, rejected, n in rows:
        if rejected or state in FINISHED:
            out[None if rejected else state] += n
    return out


def _trials_of(search_id: uuid.UUID) -> tuple[Any, ...]:
    """The rows of a search's trials (its baselines are rows of the search without a trial number)."""
    return Architecture.search_id == search_id, Architecture.trial_number.is_not(None)


def completed_trials(session: Session, *, search_id: uuid.UUID) -> list[Row[Any]]:
    """The search's completed trials, light: ``number``, ``accuracy``, ``latency_ms``, ``macs``, ``reward``
    (the columns the ranking rules read)."""
    return list(session.execute(
        select(Architecture.trial_number.label("number"), Architecture.accuracy, Architecture.latency_ms,
               Architecture.macs, Architecture.reward)
        .where(*_trials_of(search_id), Architecture.state == TrialState.COMPLETE)))


def trials_by_number(session: Session, *, search_id: uuid.UUID, numbers: list[int]) -> list[Architecture]:
    """The architecture rows of trials ``numbers``, in that order."""
    found = {a.trial_number: a for a in session.scalars(select(Architecture).where(
        Architecture.search_id == search_id, Architecture.trial_number.in_(numbers)))}
    return [found[n] for n in numbers]


def list_trials(session: Session, *, search_id: uuid.UUID, skip: int, limit: int, sort: str = "number",
                order: str = "asc", state: TrialState | None = None) -> tuple[list[Architecture], int]:
    get_search(session, search_id=search_id)
    where = [*_trials_of(search_id)] + ([Architecture.state == state] if state else [])
    column = _SORT_COLUMNS[sort]
    key = column.desc().nulls_last() if order == "desc" else column.asc().nulls_last()
    total = session.scalar(select(func.count()).select_from(Architecture).where(*where)) or 0
    rows = session.scalars(select(Architecture).where(*where).order_by(key, Architecture.trial_number)
                           .offset(skip).limit(limit))
    return list(rows), total


def record_trial(session: Session, *, search_id: uuid.UUID, record: TrialRecord) -> Architecture:
    """Insert or update the architecture row mirroring one trial of a search's study."""
    row = session.scalar(select(Architecture).where(Architecture.search_id == search_id,
                                                    Architecture.trial_number == record.number))
    if row is None:
        row = Architecture(search_id=search_id, trial_number=record.number,
                           origin={"kind": "search", "search_id": str(search_id), "trial": record.number})
        session.add(row)
    spec = record.arch
    row.state = record.state if record.state in FINISHED else None
    row.spec = None if spec is None else spec.to_dict()
    row.spec_string = record.spec_key
    row.name = spec.name if spec and spec.name else None
    row.resolution = spec.resolution if spec else None
    row.params, row.macs = record.params, record.macs
    row.accuracy, row.latency_ms, row.latency_p90_ms = record.accuracy, record.latency_ms, record.latency_p90_ms
    row.reward, row.error, row.rejected = record.reward, record.error, record.rejected
    row.details = record.details()
    session.flush()
    return row


def record_baseline(session: Session, *, search_id: uuid.UUID, record: BaselineRecord) -> Architecture:
    """Insert or update the architecture row of one baseline of a search (state null while it trains)."""
    row = session.scalar(select(Architecture).where(Architecture.search_id == search_id,
                                                    Architecture.trial_number.is_(None), Architecture.name == record.name))
    if row is None:
        row = Architecture(search_id=search_id, name=record.name)
        session.add(row)
    spec = record.arch
    row.state = record.state if record.state in _BASELINE_STATES else None
    row.spec = None if spec is None else spec.to_dict()
    row.spec_string = record.spec_key
    row.resolution = spec.resolution if spec else None
    row.params, row.macs = record.params, record.macs
    row.accuracy, row.latency_ms, row.latency_p90_ms = record.accuracy, record.latency_ms, record.latency_p90_ms
    row.error = record.error
    row.origin = {"kind": "baseline", "search_id": str(search_id), "baseline": record.name, "width": record.width,
                  "macs_range": record.macs_range, "changes": record.changes}
    row.details = record.details()
    session.flush()
    return row


def baseline_rows(session: Session, *, search_id: uuid.UUID) -> dict[str, Architecture]:
    """A search's baselines by name."""
    return {r.name: r for r in session.scalars(select(Architecture).where(
        Architecture.search_id == search_id, Architecture.trial_number.is_(None)))}


# --- architectures ------------------------------------------------------------------------------------------


def get_architecture(session: Session, *, architecture_id: uuid.UUID) -> Architecture:
    row = session.get(Architecture, architecture_id)
    if row is None:
        raise NotFoundError("architecture", architecture_id)
    return row


def add_architecture(session: Session, *, spec: ArchSpec, params: int, macs: int, origin: dict[str, Any]) -> Architecture:
    """Store a network that did not come from a search trial (a scaled network)."""
    row = Architecture(name=spec.name or None, spec=spec.to_dict(), spec_string=spec.to_string(),
                       resolution=spec.resolution, params=params, macs=macs, origin=origin, details={})
    session.add(row)
    session.flush()
    return row


def record_trained(session: Session, *, architecture_id: uuid.UUID, job_id: uuid.UUID, test_accuracy: float,
                   trained: dict[str, Any]) -> Architecture:
    """Record what full-fidelity training by job ``job_id`` found on an architecture (replacing an earlier
    training's); its proxy ``accuracy`` stays."""
    row = get_architecture(session, architecture_id=architecture_id)
    row.test_accuracy, row.trained, row.trained_by = test_accuracy, trained, job_id
    session.flush()
    return row


def add_measurement(session: Session, *, architecture_id: uuid.UUID,
                    measurement: LatencyMeasurement) -> MeasurementRow:
    """Store a latency measured of the architecture (NotFoundError when there is none; ConflictError past
    ``MAX_MEASUREMENTS``)."""
    get_architecture(session, architecture_id=architecture_id)
    held = session.scalar(select(func.count()).select_from(MeasurementRow)
                          .where(MeasurementRow.architecture_id == architecture_id)) or 0
    if held >= MAX_MEASUREMENTS:
        raise ConflictError(f"architecture {architecture_id} holds {held} latency measurements, the most kept")
    device = measurement.device
    received = utcnow()
    row = MeasurementRow(architecture_id=architecture_id, runtime=device.runtime, threads=device.threads,
                         batch_size=device.batch_size, latency_ms=measurement.latency_ms,
                         min_round_ms=measurement.min_round_ms, max_round_ms=measurement.max_round_ms,
                         device=measurement.to_dict()["device"], loop=measurement.loop, source=measurement.source,
                         measured_at=measurement.when(received), created_at=received)
    session.add(row)
    session.flush()
    return row


def clear_trained(session: Session, *, job_id: uuid.UUID) -> int:
    """Forget what job ``job_id`` trained (its files are going); how many architectures it had trained."""
    rows = list(session.scalars(select(Architecture).where(Architecture.trained_by == job_id)))
    for row in rows:
        row.test_accuracy = row.trained = row.trained_by = None
    return len(rows)


def active_jobs(session: Session, model: type[JobMixin], **equal: Any) -> int:
    """Jobs of table ``model`` queued or running whose columns ``equal`` hold these values."""
    where = [model.state.in_(ACTIVE_STATES)] + [getattr(model, k) == v for k, v in equal.items()]
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def list_measurements(session: Session, *, architecture_id: uuid.UUID, skip: int,
                      limit: int) -> tuple[list[MeasurementRow], int]:
    """A page of the architecture's latency measurements, newest first, and how many there are."""
    get_architecture(session, architecture_id=architecture_id)
    where = MeasurementRow.architecture_id == architecture_id
    total = session.scalar(select(func.count()).select_from(MeasurementRow).where(where)) or 0
    rows = session.scalars(select(MeasurementRow).where(where)
                           .order_by(MeasurementRow.created_at.desc(), MeasurementRow.id).offset(skip).limit(limit))
    return list(rows), total


# --- scaling searches ---------------------------------------------------------------------------------------


def create_scaling_search(session: Session, *, config: dict[str, Any], name: str | None) -> ScalingSearch:
    job = ScalingSearch(name=name, config=config, state=JobState.QUEUED)
    session.add(job)
    session.flush()
    return job


def set_scaling_progress(session: Session, *, job_id: uuid.UUID, result: dict[str, Any]) -> None:
    get_scaling_search(session, job_id=job_id).result = result


def get_scaling_search(session: Session, *, job_id: uuid.UUID) -> ScalingSearch:
    return get_job(session, ScalingSearch, job_id=job_id, resource="scaling search")


# --- device profiles ----------------------------------------------------------------------------------------


def create_device_profile(session: Session, *, profile: DeviceProfile, name: str | None) -> DeviceProfileRow:
    """Store a validated device profile."""
    data = profile.to_dict()
    row = DeviceProfileRow(name=name or profile.device.name or None, device=data["device"],
                           correction=data["correction"], num_entries=len(profile.entries), profile=data)
    session.add(row)
    session.flush()
    return row


def get_device_profile(session: Session, *, profile_id: uuid.UUID | str) -> DeviceProfileRow:
    """NotFoundError for an unknown id (or one that is not a UUID)."""
    try:
        key = profile_id if isinstance(profile_id, uuid.UUID) else uuid.UUID(str(profile_id))
    except ValueError:
        raise NotFoundError("device profile", profile_id) from None
    row = session.get(DeviceProfileRow, key)
    if row is None:
        raise NotFoundError("device profile", profile_id)
    return row


def list_device_profiles(session: Session, *, skip: int, limit: int) -> tuple[list[DeviceProfileRow], int]:
    """A page of device profiles, newest first, and how many there are."""
    total = session.scalar(select(func.count()).select_from(DeviceProfileRow)) or 0
    rows = session.scalars(select(DeviceProfileRow).order_by(DeviceProfileRow.created_at.desc(), DeviceProfileRow.id)
                           .offset(skip).limit(limit))
    return list(rows), total


def load_device_profile(session: Session, *, profile_id: uuid.UUID | str) -> DeviceProfile:
    """The stored profile as the domain object searches predict from."""
    return DeviceProfile.from_dict(get_device_profile(session, profile_id=profile_id).profile)


# --- health -------------------------------------------------------------------------------------------------


def queue_counts(session: Session, *, models: tuple[type[JobMixin], ...]) -> dict[JobState, int]:
    """Jobs queued and running over the job tables ``models``."""
    out = dict.fromkeys(ACTIVE_STATES, 0)
    for model in models:
        for state, n in session.execute(select(model.state, func.count()).where(model.state.in_(ACTIVE_STATES))
                                        .group_by(model.state)):
            out[state] += n
    return out


def live_drivers(session: Session, *, stale_after_s: float) -> int:
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    return session.scalar(select(func.count()).select_from(Driver).where(Driver.heartbeat_at >= cutoff)) or 0

