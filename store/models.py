"""SQLAlchemy models: searches, scaling searches, trainings and finalizes (queued jobs), architectures (trials,
baselines, scaled and trained networks) and the latencies users measured of them, drivers, device profiles. Table
names avoid Optuna's (``studies``, ``trials``, ...), which live in the same database."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.db import UTCDateTime, utcnow
from workers.runtime import TrialState


class JobState(enum.StrEnum):
    """A queued job's state (searches, scaling searches, any job kind)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATES


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


def _values(enum_type: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_type]


def state_column(enum_type: type[enum.Enum], **kwargs: Any) -> Any:
    """A VARCHAR(16) column holding an enum's values (no database enum type: the schema stays as migrated)."""
    return mapped_column(Enum(enum_type, native_enum=False, create_constraint=False, length=16,
                              values_callable=_values, validate_strings=True), **kwargs)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime, int: BigInteger}


class JobMixin:
    """Columns of a job that a driver claims, heartbeats and finishes."""

    state: Mapped[JobState] = state_column(JobState, default=JobState.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def elapsed_s(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.finished_at or utcnow()) - self.started_at).total_seconds()


class Search(JobMixin, Base):
    __tablename__ = "searches"
    __table_args__ = (Index("ix_searches_state_created", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(100))
    study: Mapped[str | None] = mapped_column(String(200))  # its Optuna study (null: stored before it was kept)
    config: Mapped[dict[str, Any]]
    stopped: Mapped[str | None] = mapped_column(String(200))
    # a one-shot search's supernet training: state, steps and per-epoch curves (null for multi-trial searches)
    supernet: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    architectures: Mapped[list[Architecture]] = relationship(
        back_populates="search", cascade="all, delete-orphan", passive_deletes=True
    )


class Architecture(Base):
    """One network: a search trial (with its measurements) or a scaled network (``origin`` says which)."""

    __tablename__ = "architectures"
    __table_args__ = (UniqueConstraint("search_id", "trial_number", name="uq_architectures_trial"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    search_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    trial_number: Mapped[int | None]
    state: Mapped[TrialState | None] = state_column(TrialState)
    name: Mapped[str | None] = mapped_column(String(100))
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    spec_string: Mapped[str | None] = mapped_column(Text)
    params: Mapped[int | None]
    macs: Mapped[int | None]
    resolution: Mapped[int | None]
    accuracy: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    latency_p90_ms: Mapped[float | None] = mapped_column(Float)
    reward: Mapped[float | None] = mapped_column(Float)
    rejected: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # full-fidelity training (``accuracy`` stays the proxy's): the test accuracy of the checkpoint selected on
    # validation, what the run found (curves, recipe, trained spec, product files) and the job that trained it
    test_accuracy: Mapped[float | None] = mapped_column(Float)
    trained: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    trained_by: Mapped[uuid.UUID | None] = mapped_column(index=True)
    search: Mapped[Search | None] = relationship(back_populates="architectures")


class MeasurementRow(Base):
    """A latency measured of an architecture on a device (``workers.latency.LatencyMeasurement``), e.g. by
    ``python -m workers measure --architecture ID --service URL``."""

    __tablename__ = "latency_measurements"
    __table_args__ = (Index("ix_latency_measurements_architecture_created", "architecture_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    architecture_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("architectures.id", ondelete="CASCADE"))
    runtime: Mapped[str] = mapped_column(String(16))
    threads: Mapped[int]
    batch_size: Mapped[int]
    latency_ms: Mapped[float] = mapped_column(Float)
    min_round_ms: Mapped[float | None] = mapped_column(Float)
    max_round_ms: Mapped[float | None] = mapped_column(Float)
    device: Mapped[dict[str, Any]]
    loop: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    measured_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScalingSearch(JobMixin, Base):
    """A compound-coefficient grid search (alpha, beta, gamma) as a queued job."""

    __tablename__ = "scaling_searches"
    __table_args__ = (Index("ix_scaling_searches_state_created", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(100))
    study: Mapped[str | None] = mapped_column(String(200))  # its Optuna study (null: stored before it was kept)
    config: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Training(JobMixin, Base):
    """Full-fidelity training of one architecture (``architecture_id``; null once that row is deleted: the spec
    stays in ``config``) as a queued job; ``result`` holds its progress, then what it found."""

    __tablename__ = "trainings"
    __table_args__ = (Index("ix_trainings_state_created", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(100))
    architecture_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("architectures.id", ondelete="SET NULL"),
                                                              index=True)
    config: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Finalize(JobMixin, Base):
    """A search's top-k and baselines trained at full fidelity, with the proxy truth, as a queued job
    (``search_id`` null once the search is deleted: the report stays)."""

    __tablename__ = "finalizes"
    __table_args__ = (Index("ix_finalizes_state_created", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(100))
    search_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("searches.id", ondelete="SET NULL"), index=True)
    config: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Driver(Base):
    """A running driver process, so that /healthz can say whether anyone executes the queue."""

    __tablename__ = "drivers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceProfileRow(Base):
    """An uploaded device profile (``searchspace.latency_table.DeviceProfile``): a latency table searches name."""

    __tablename__ = "device_profiles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str | None] = mapped_column(String(100))
    device: Mapped[dict[str, Any]]
    correction: Mapped[dict[str, Any]]
    num_entries: Mapped[int]
    profile: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def reference_ms(self) -> float:
        """The reference networks' level the entries are scaled to (0: entries as timed)."""
        return float(self.profile.get("reference_ms", 0.0))
