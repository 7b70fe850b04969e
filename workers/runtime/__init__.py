"""The job runtime: the one owner of Ray in a process, the Ray executor, the engine that keeps its slots busy, the
Optuna ledger, outcomes, and retries through database outages."""

from __future__ import annotations

from workers.runtime.batch import run_batch
from workers.runtime.cluster import cluster_cpus, ensure_ray
from workers.runtime.engine import EngineLimits, Proposal, Source, Stop, StopCheck, StopReason
from workers.runtime.executor import WORKER_NICENESS, EvaluateFn, RayExecutor, Task
from workers.runtime.ledger import INTERRUPTED, RECORD, Ledger, Stored, checkpoint, open_storage
from workers.runtime.outage import TRANSIENT, until_available
from workers.runtime.outcome import Evaluated, Outcome

__all__ = [
    "INTERRUPTED",
    "RECORD",
    "TRANSIENT",
    "WORKER_NICENESS",
    "EngineLimits",
    "EvaluateFn",
    "Evaluated",
    "Ledger",
    "Outcome",
    "Proposal",
    "RayExecutor",
    "Source",
    "Stop",
    "StopCheck",
    "StopReason",
    "Stored",
    "Task",
    "checkpoint",
    "cluster_cpus",
    "ensure_ray",
    "open_storage",
    "run_batch",
    "until_available",
]
