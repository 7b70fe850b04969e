"""Evaluations on Ray: submit, wait, cancel, and the one mapping of Ray's errors to failed outcomes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.cluster import RayUnavailable, ensure_ray, ray_owner
from workers.outcome import Evaluated

EvaluateFn = Callable[..., dict[str, Any]]


@dataclass(eq=False)
class Task:
    """One evaluation: ``fn(*args)`` runs in a Ray worker and returns measurements; ``item`` is the caller's."""

    fn: EvaluateFn
    args: tuple[Any, ...]
    item: Any


WORKER_NICENESS = 10  # evaluations yield the CPU to the service (API requests, heartbeats) on shared cores


def _call(fn: EvaluateFn, *args: Any) -> dict[str, Any]:
    """The Ray task: the evaluation function travels as an argument (so tests can pass stand-ins); it runs at
    a lower CPU priority than the service's own processes, and its measurements say on which node it ran and
    the CPU time it took (``cpu_seconds``: the worker process's, every thread's, what a CPU budget spends)."""
    import ray

    if os.getpriority(os.PRIO_PROCESS, 0) < WORKER_NICENESS:
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICENESS)
    cpu_start = time.process_time()
    measured = fn(*args)
    if isinstance(measured, dict):  # where it ran: the Ray node and the worker process
        measured = {**measured, "node_id": ray.get_runtime_context().get_node_id(), "worker_pid": os.getpid(),
                    "cpu_seconds": time.process_time() - cpu_start}
    return measured


class RayExecutor:
    """Runs tasks as Ray tasks of ``num_cpus`` CPUs each, never retried (a failure is an outcome)."""

    def __init__(self, num_cpus: float, ray_cpus: int) -> None:
        """``ray_cpus`` bounds a local Ray if this process has to start one."""
        ensure_ray(ray_cpus)
        import ray

        self._remote = ray.remote(num_cpus=num_cpus, max_retries=0)(_call)
        self._inflight: dict[Any, Task] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    def submit(self, task: Task) -> None:
        import ray

        try:
            self._inflight[self._remote.remote(task.fn, *task.args)] = task
        except ray.exceptions.RayError as err:
            raise RayUnavailable(f"cannot submit to Ray: {err}") from err

    def wait(self, timeout_s: float) -> list[tuple[Task, Evaluated]]:
        """The tasks that finished within ``timeout_s`` (at least one when any finished), with their outcome.

        Raises RayUnavailable (keeping the tasks in flight, for ``cancel_all``) when a task died with Ray itself
        (a killed raylet): that is not the candidate's failure, and the job resumes once Ray is back.
        """
        import ray

        if not self._inflight:
            return []
        ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=timeout_s)
        done = [(ref, _outcome(ref)) for ref in ready]
        if any(evaluated.system for _, evaluated in done) and not ray_owner().healthy():
            raise RayUnavailable("Ray stopped answering while evaluations ran (raylet or GCS died)")
        return [(self._inflight.pop(ref), evaluated) for ref, evaluated in done]

    def cancel_all(self) -> list[Task]:
        """Cancel every running task (force: their workers are killed); the tasks, for the caller to record."""
        import ray

        tasks = list(self._inflight.values())
        if ray_owner().healthy():
            for ref in self._inflight:
                ray.cancel(ref, force=True)
        self._inflight.clear()
        return tasks


def _outcome(ref: Any) -> Evaluated:
    """A finished task's outcome: its measurements, the error it raised, or its worker's death."""
    import ray

    try:
        measured = ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = err.cause if err.cause is not None else err
        return Evaluated.failed(f"{type(cause).__name__}: {cause}")
    except ray.exceptions.RayError as err:  # the worker or its node died (crash, out of memory, node lost)
        return Evaluated.failed(f"worker died: {type(err).__name__}: {err}", system=True)
    if not isinstance(measured, dict) or not isinstance(measured.get("accuracy"), int | float):
        return Evaluated.failed(f"the evaluation returned no accuracy: {measured!r:.200}")
    return Evaluated.from_measured(measured)
