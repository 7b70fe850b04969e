"""The job runtime: the one owner of Ray in a process, the Ray executor, the engine that keeps its slots busy, the
Optuna ledger, outcomes, and retries through database outages."""

from __future__ import annotations

from workers.runtime.batch import run_batch
from workers.runtime.cluster import RayUnavailable, cluster_cpus, ensure_ray, restart_ray
from workers.runtime.database import (
    TRANSIENT,
    UNAVAILABLE,
    checkpoint,
    drop_studies,
    make_engine,
    open_storage,
)
from workers.runtime.engine import (
    EngineLimits,
    Executor,
    Proposal,
    Source,
    Stop,
    StopCheck,
    StopReason,
    run_engine,
    with_restarts,
)
from workers.runtime.executor import WORKER_NICENESS, EvaluateFn, RayExecutor, Task
from workers.runtime.ledger import INTERRUPTED, RECORD, Ledger, Stored
from workers.runtime.outage import until_available
from workers.runtime.outcome import FINISHED, Evaluated, Outcome, TrialState

__all__ = [
    "FINISHED",
    "INTERRUPTED",
    "RECORD",
    "TRANSIENT",
    "UNAVAILABLE",
    "WORKER_NICENESS",
    "EngineLimits",
    "EvaluateFn",
    "Evaluated",
    "Executor",
    "Ledger",
    "Outcome",
    "Proposal",
    "RayExecutor",
    "RayUnavailable",
    "Source",
    "Stop",
    "StopCheck",
    "StopReason",
    "Stored",
    "Task",
    "TrialState",
    "checkpoint",
    "cluster_cpus",
    "drop_studies",
    "ensure_ray",
    "make_engine",
    "open_storage",
    "restart_ray",
    "run_batch",
    "run_engine",
    "until_available",
    "with_restarts",
]
