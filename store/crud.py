"""Keyword-only data functions over a Session. They raise domain errors (NotFoundError, ConflictError,
CapacityError, SpecError), never HTTP errors, and never commit: the caller's session scope does."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from searchspace.latency_table import DeviceProfile
from searchspace.spec import ArchSpec
from store.db import utcnow
from store.errors import CapacityError, ConflictError, NotFoundError
from store.models import ACTIVE_STATES, Architecture, DeviceProfileRow, Driver, ScalingSearch, Search
from workers.search import (
    BaselineRecord,
    SearchConfig,
    TrialRecord,
    baseline_study_name,
    best_trial,
    pareto_front,
    verdict,
)

SORTABLE = ("number", "accuracy", "latency_ms", "macs", "params")
_SORT_COLUMNS = {"number": Architecture.trial_number, "accuracy": Architecture.accuracy,
                 "latency_ms": Architecture.latency_ms, "macs": Architecture.macs, "params": Architecture.params}
_DETAILS = ("epoch_accuracies", "stopped", "train_seconds", "eval_seconds", "device", "latency_source", "node_id",
            "reused_from", "screened", "started_at", "finished_at", "cpu_seconds", "fidelity", "rung")


# --- searches -----------------------------------------------------------------------------------------------


def create_search(session: Session, *, config: SearchConfig, name: str | None, max_active: int) -> Search:
    """Queue a search; CapacityError when ``max_active`` searches are already queued or running."""
    active = session.scalar(select(func.count()).select_from(Search).where(Search.state.in_(ACTIVE_STATES)))
    if active is not None and active >= max_active:
        raise CapacityError("max_concurrent_searches",
                            f"{active} searches are queued or running, the limit is {max_active}; retry later")
    search = Search(name=name, config=config.to_dict(), state="queued")
    session.add(search)
    session.flush()
    return search


def get_search(session: Session, *, search_id: uuid.UUID, for_update: bool = False) -> Search:
    query = select(Search).where(Search.id == search_id)
    search = session.scalar(query.with_for_update() if for_update else query)
    if search is None:
        raise NotFoundError("search", search_id)
    return search


def list_searches(session: Session, *, skip: int, limit: int, state: str | None = None) -> tuple[list[Search], int]:
    """A page of searches, newest first, and how many there are."""
    return _page(session, Search, skip=skip, limit=limit, state=state)


def list_scaling_searches(session: Session, *, skip: int, limit: int,
                          state: str | None = None) -> tuple[list[ScalingSearch], int]:
    """A page of scaling searches, newest first, and how many there are."""
    return _page(session, ScalingSearch, skip=skip, limit=limit, state=state)


def _page(session: Session, model: type[Search | ScalingSearch], *, skip: int, limit: int,
          state: str | None) -> tuple[list[Any], int]:
    where = [model.state == state] if state else []
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = session.scalars(select(model).where(*where).order_by(model.created_at.desc(), model.id)
                           .offset(skip).limit(limit))
    return list(rows), total


def cancel_search(session: Session, *, search_id: uuid.UUID) -> Search:
    """Queued: cancelled at once. Running: the driver stops at its next check. Finished: ConflictError."""
    search = get_search(session, search_id=search_id, for_update=True)
    if search.state == "queued":
        search.state, search.finished_at, search.stopped = "cancelled", utcnow(), "cancelled"
    elif search.state == "running":
        search.cancel_requested = True
    else:
        raise ConflictError(f"search {search_id} is already {search.state}")
    return search


def delete_search(session: Session, *, search_id: uuid.UUID) -> str:
    """Delete a search that is not running, with its trials; returns its Optuna study name."""
    search = get_search(session, search_id=search_id, for_update=True)
    if search.state == "running":
        raise ConflictError(f"search {search_id} is running; cancel it first (POST /v1/searches/{search_id}/cancel)")
    study = search.study_name
    session.delete(search)
    return study


def delete_study(url: str, study_name: str) -> None:
    """Drop a search's Optuna study and its baselines' study from the database, where they were ever created."""
    import optuna

    from workers.runtime import open_storage

    storage = open_storage(url)
    for name in (study_name, baseline_study_name(study_name)):
        try:
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass


def progress(session: Session, *, search: Search) -> dict[str, int]:
    """Trials per state (rejected ones apart from pruned) against the budget."""
    rows = session.execute(
        select(Architecture.state, Architecture.rejected.is_not(None), func.count())
        .where(*_trials_of(search.id))
        .group_by(Architecture.state, Architecture.rejected.is_not(None))
    )
    out = {"budget": int(search.config.get("n_trials", 0)), "complete": 0, "pruned": 0, "failed": 0, "rejected": 0}
    for state, rejected, n in rows:
        key = "rejected" if rejected else {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}.get(state)
        if key:
            out[key] += n
    return out


def best_architecture(session: Session, *, search: Search) -> Architecture | None:
    """The search's best completed trial, by the one rule ``workers.search.results.best_trial`` states per mode."""
    best = best_trial(_completed(session, search.id), SearchConfig.from_dict(search.config))
    return None if best is None else _rows(session, search.id, [best.number])[0]


def _trials_of(search_id: uuid.UUID) -> tuple[Any, ...]:
    """The rows of a search's trials (its baselines are rows of the search without a trial number)."""
    return Architecture.search_id == search_id, Architecture.trial_number.is_not(None)


def _completed(session: Session, search_id: uuid.UUID) -> list[TrialRecord]:
    """The search's completed trials as light records: only the columns the ranking rules read."""
    rows = session.execute(select(Architecture.trial_number, Architecture.accuracy, Architecture.latency_ms,
                                  Architecture.macs, Architecture.reward)
                           .where(*_trials_of(search_id), Architecture.state == "COMPLETE"))
    return [TrialRecord(number=n, state="COMPLETE", accuracy=accuracy, latency_ms=latency, macs=macs, reward=reward)
            for n, accuracy, latency, macs, reward in rows]


def _rows(session: Session, search_id: uuid.UUID, numbers: list[int]) -> list[Architecture]:
    """The architecture rows of trials ``numbers``, in that order."""
    found = {a.trial_number: a for a in session.scalars(select(Architecture).where(
        Architecture.search_id == search_id, Architecture.trial_number.in_(numbers)))}
    return [found[n] for n in numbers]


def list_trials(session: Session, *, search_id: uuid.UUID, skip: int, limit: int, sort: str = "number",
                order: str = "asc", state: str | None = None) -> tuple[list[Architecture], int]:
    get_search(session, search_id=search_id)
    where = [*_trials_of(search_id)] + ([Architecture.state == state] if state else [])
    column = _SORT_COLUMNS[sort]
    key = column.desc().nulls_last() if order == "desc" else column.asc().nulls_last()
    total = session.scalar(select(func.count()).select_from(Architecture).where(*where)) or 0
    rows = session.scalars(select(Architecture).where(*where).order_by(key, Architecture.trial_number)
                           .offset(skip).limit(limit))
    return list(rows), total


def pareto(session: Session, *, search_id: uuid.UUID) -> list[Architecture]:
    """The search's non-dominated completed trials (accuracy up, latency or MACs down), by increasing cost."""
    search = get_search(session, search_id=search_id)
    front = pareto_front(_completed(session, search_id), search.config.get("objective", "latency"))
    return _rows(session, search_id, [r.number for r in front])


def record_trial(session: Session, *, search_id: uuid.UUID, record: TrialRecord) -> Architecture:
    """Insert or update the architecture row mirroring one trial of a search's study."""
    row = session.scalar(select(Architecture).where(Architecture.search_id == search_id,
                                                    Architecture.trial_number == record.number))
    if row is None:
        row = Architecture(search_id=search_id, trial_number=record.number,
                           origin={"kind": "search", "search_id": str(search_id), "trial": record.number})
        session.add(row)
    spec = record.arch
    row.state = record.state if record.state in ("COMPLETE", "PRUNED", "FAIL") else None
    row.spec = None if spec is None else spec.to_dict()
    row.spec_string = record.spec_key
    row.name = spec.name if spec and spec.name else None
    row.resolution = spec.resolution if spec else None
    row.params, row.macs = record.params, record.macs
    row.accuracy, row.latency_ms, row.latency_p90_ms = record.accuracy, record.latency_ms, record.latency_p90_ms
    row.reward, row.error, row.rejected = record.reward, record.error, record.rejected
    row.details = {k: getattr(record, k) for k in _DETAILS if getattr(record, k) not in (None, [])}
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
    row.state = record.state if record.state in ("COMPLETE", "FAIL") else None
    row.spec = None if spec is None else spec.to_dict()
    row.spec_string = record.spec_key
    row.resolution = spec.resolution if spec else None
    row.params, row.macs = record.params, record.macs
    row.accuracy, row.latency_ms, row.latency_p90_ms = record.accuracy, record.latency_ms, record.latency_p90_ms
    row.error = record.error
    row.origin = {"kind": "baseline", "search_id": str(search_id), "baseline": record.name, "width": record.width,
                  "macs_range": record.macs_range, "changes": record.changes}
    row.details = {k: getattr(record, k) for k in ("epoch_accuracies", "stopped", "train_seconds", "eval_seconds",
                                                    "device", "latency_source") if getattr(record, k) not in (None, [])}
    session.flush()
    return row


def baselines(session: Session, *, search_id: uuid.UUID) -> list[tuple[Architecture, dict[str, Any]]]:
    """A search's baselines in the order its config names them, each with its verdict against the front
    (``dominated``, ``dominated_by``: see ``workers.search.baselines.verdict``)."""
    search = get_search(session, search_id=search_id)
    rows = {r.name: r for r in session.scalars(select(Architecture).where(
        Architecture.search_id == search_id, Architecture.trial_number.is_(None)))}
    objective = search.config.get("objective", "latency")
    front = pareto_front(_completed(session, search_id), objective)
    order = [n for n in search.config.get("baselines", []) if n in rows] + sorted(
        set(rows) - set(search.config.get("baselines", [])))
    out = []
    for name in order:
        row = rows[name]
        record = BaselineRecord(name=name, state=row.state or "RUNNING", accuracy=row.accuracy,
                                latency_ms=row.latency_ms, macs=row.macs)
        out.append((row, verdict(record, front, objective)))
    return out


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


# --- scaling searches ---------------------------------------------------------------------------------------


def create_scaling_search(session: Session, *, config: dict[str, Any], name: str | None) -> ScalingSearch:
    job = ScalingSearch(name=name, config=config, state="queued")
    session.add(job)
    session.flush()
    return job


def set_scaling_progress(session: Session, *, job_id: uuid.UUID, result: dict[str, Any]) -> None:
    get_scaling_search(session, job_id=job_id).result = result


def get_scaling_search(session: Session, *, job_id: uuid.UUID) -> ScalingSearch:
    job = session.get(ScalingSearch, job_id)
    if job is None:
        raise NotFoundError("scaling search", job_id)
    return job


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


def queue_counts(session: Session) -> dict[str, int]:
    out = {"queued": 0, "running": 0}
    for model in (Search, ScalingSearch):
        for state, n in session.execute(select(model.state, func.count()).where(model.state.in_(ACTIVE_STATES))
                                        .group_by(model.state)):
            out[state] += n
    return out


def live_drivers(session: Session, *, stale_after_s: float) -> int:
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    return session.scalar(select(func.count()).select_from(Driver).where(Driver.heartbeat_at >= cutoff)) or 0

