"""Evaluations on Ray: submit, wait, cancel, and the one mapping of Ray's errors to failed outcomes.

Every task asks Ray for the job's CPUs and, when it trains or times on CUDA, for ``gpus_per_trial`` GPUs (a
fraction packs several trials on one GPU); a job's dataset directory travels once through Ray's object store,
so that nodes which cannot read it still evaluate (see ``workers.data.shipment``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.data import DatasetConfig, Shipment, adopt, adopted, shipment
from workers.runtime.cluster import RayUnavailable, cluster_gpus, ensure_ray, ray_owner
from workers.runtime.outcome import Evaluated
from workers.training import DeviceUnavailable, TrainBudget, TrainDevice

EvaluateFn = Callable[..., dict[str, Any]]


@dataclass(eq=False)
class Task:
    """One evaluation: ``fn(*args)`` runs in a Ray worker and returns measurements; ``item`` is the caller's."""

    fn: EvaluateFn
    args: tuple[Any, ...]
    item: Any


WORKER_NICENESS = 10  # evaluations yield the CPU to the service (API requests, heartbeats) on shared cores


@dataclass(frozen=True)
class Shipped:
    """A dataset in Ray's object store: its source and signature, and the reference (in a list, so that Ray
    hands it over unresolved and a worker fetches it only the first time)."""

    source: str
    signature: int
    ref: list[Any]


def gpus_per_task(budget: TrainBudget | None, latency_device: str, gpus_in_cluster: float) -> float:
    """The GPUs each task asks Ray for: ``gpus_per_trial`` when it trains (device cuda, or auto on a cluster
    with GPUs) or times latency on CUDA, else none. DeviceUnavailable when CUDA is required and no node has one."""
    wants_cuda = latency_device.startswith("cuda") or (budget is not None and budget.device is TrainDevice.CUDA)
    if budget is None or (budget.device is TrainDevice.CPU and not wants_cuda):
        return 0.0
    if gpus_in_cluster <= 0:
        if wants_cuda:
            what = "latency.device" if latency_device.startswith("cuda") else "training.device"
            raise DeviceUnavailable(f"{what} asks for CUDA but the Ray cluster has no GPU; set it to "
                                    f"{'cpu' if what == 'latency.device' else 'auto or cpu'}, or add GPU nodes")
        return 0.0
    return budget.gpus_per_trial


def _call(fn: EvaluateFn, shipped: Shipped | None, *args: Any) -> dict[str, Any]:
    """The Ray task: the evaluation function travels as an argument (so tests can pass stand-ins); it runs at
    a lower CPU priority than the service's own processes, reads the job's shipped dataset when there is one,
    and its measurements say on which node it ran and the CPU time it took (``cpu_seconds``: the worker
    process's, every thread's, what a CPU budget spends)."""
    import ray

    if os.getpriority(os.PRIO_PROCESS, 0) < WORKER_NICENESS:
        os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICENESS)
    if shipped is not None and not adopted(shipped.source, shipped.signature):
        adopt(ray.get(shipped.ref[0]))
    cpu_start = time.process_time()
    measured = fn(*args)
    if isinstance(measured, dict):  # where it ran: the Ray node and the worker process
        measured = {**measured, "node_id": ray.get_runtime_context().get_node_id(), "worker_pid": os.getpid(),
                    "cpu_seconds": time.process_time() - cpu_start}
    return measured


class RayExecutor:
    """Runs tasks as Ray tasks of ``num_cpus`` CPUs (and ``gpus_per_task`` GPUs) each, never retried (a failure
    is an outcome)."""

    def __init__(self, num_cpus: float, ray_cpus: int, *, budget: TrainBudget | None = None,
                 latency_device: str = "cpu", dataset: DatasetConfig | None = None) -> None:
        """``ray_cpus`` bounds a local Ray if this process has to start one; ``budget`` and ``latency_device``
        decide the GPUs each task asks for; ``dataset`` is shipped to the workers when it is a small directory."""
        ensure_ray(ray_cpus)
        import ray

        self.num_gpus = gpus_per_task(budget, latency_device, cluster_gpus())
        self._remote = ray.remote(num_cpus=num_cpus, num_gpus=self.num_gpus, max_retries=0)(_call)
        self._inflight: dict[Any, Task] = {}
        packed: Shipment | None = None if dataset is None else shipment(dataset)
        self._shipped = None if packed is None else Shipped(packed.source, packed.signature, [ray.put(packed)])

    def __len__(self) -> int:
        return len(self._inflight)

    def submit(self, task: Task) -> None:
        import ray

        try:
            self._inflight[self._remote.remote(task.fn, self._shipped, *task.args)] = task
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

    def healthy(self) -> bool:
        """Ray answers (``RayOwner.healthy``)."""
        return ray_owner().healthy()

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
    except ray.exceptions.NodeDiedError as err:  # the node went away with the task on it
        return Evaluated.failed(f"node died: the Ray node running this trial was lost ({err})", system=True)
    except ray.exceptions.RayError as err:  # the worker died (crash, out of memory)
        return Evaluated.failed(f"worker died: {type(err).__name__}: {err}", system=True)
    if not isinstance(measured, dict) or not isinstance(measured.get("accuracy"), int | float):
        return Evaluated.failed(f"the evaluation returned no accuracy: {measured!r:.200}")
    return Evaluated.from_measured(measured)
