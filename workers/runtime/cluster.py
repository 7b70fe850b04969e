"""Ray for the whole process: one owner starts (or joins) it once, from a thread that lives as long as the process.

Ray's child processes (GCS, raylet, workers) die with the *thread* that started them (Linux parent-death
signal), so starting Ray inside a job's thread took it down when that job ended. ``ray_owner()`` runs every
``ray.init``/``ray.shutdown`` on one daemon thread that never returns; jobs only ever call ``ensure``.

A local instance has bounded CPUs, no dashboard, no usage statistics, and every listener on loopback:
``_node_ip_address="127.0.0.1"`` alone is not enough on Linux (Ray swaps a loopback address for the machine's
reachable one unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which makes it a single-node instance whose GCS,
raylet and workers bind 127.0.0.1). ``RAY_ADDRESS`` joins an existing cluster instead.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)
PROCESS_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    # Ray's C++ failure handler would turn SIGTERM into a stack dump and exit -15: the service handles SIGTERM
    "RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1",
}
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # keep 127.0.0.1 as the node address: loopback only


class RayUnavailable(RuntimeError):
    """Ray could not be started or joined (the message says which and why)."""


class RayOwner:
    """Starts, checks and restarts Ray, always from its own long-lived thread."""

    def __init__(self) -> None:
        self._calls: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.starts = 0  # how many times this process started or joined Ray
        self.num_cpus = 1  # the bound of the local instance, kept for restarts

    def _run(self) -> None:
        while True:
            fn, future = self._calls.get()
            try:
                future.set_result(fn())
            except BaseException as err:  # noqa: BLE001 - handed to the calling thread, which raises it
                future.set_exception(err)

    def _call(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nas-ray-owner", daemon=True)
                self._thread.start()
        future: Future[Any] = Future()
        self._calls.put((fn, future))
        return future.result()

    def ensure(self, num_cpus: int) -> None:
        """Ray is up for this process: started (``num_cpus`` CPUs, local) or joined (``RAY_ADDRESS``) once."""
        import ray

        if ray.is_initialized() and self.healthy():
            return
        self._call(lambda: self._start(num_cpus))

    def restart(self) -> None:
        """Shut a broken Ray down and start (or rejoin) it again, with the same CPU bound."""
        self._call(lambda: self._start(self.num_cpus, force=True))

    def healthy(self) -> bool:
        """Ray answers: the GCS lists a live node (a killed raylet or GCS makes this False)."""
        import ray

        if not ray.is_initialized():
            return False
        try:
            return any(node.get("Alive") for node in ray.nodes())
        except (ray.exceptions.RayError, ConnectionError, TimeoutError, RuntimeError) as err:  # GCS unreachable
            log.warning("Ray health check failed: %s", err)
            return False

    def _start(self, num_cpus: int, force: bool = False) -> None:
        import ray

        if ray.is_initialized():
            if not force and self.healthy():
                return
            log.warning("Ray is not answering; restarting it")
            ray.shutdown()
        address = os.environ.get("RAY_ADDRESS")
        self.num_cpus = num_cpus
        _settings(PROCESS_ENV, RAY_DISABLE_FAILURE_SIGNAL_HANDLER=True)
        try:
            if address:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
            else:
                _settings(LOCAL_ENV, ENABLE_RAY_CLUSTER=False)
                ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                         log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise RayUnavailable(f"cannot {'join Ray at ' + address if address else 'start a local Ray'}: "
                                 f"{err}") from err
        self.starts += 1


def _settings(env: dict[str, str], **constants: bool) -> None:
    """Environment for Ray, and the same in Ray's constants where ray was imported before it was set."""
    os.environ.update(env)
    from ray._private import ray_constants

    for name, value in constants.items():
        setattr(ray_constants, name, value)


_OWNER = RayOwner()


def ray_owner() -> RayOwner:
    return _OWNER


def ensure_ray(num_cpus: int) -> None:
    """Start (or join) Ray once per process, from the owner thread."""
    _OWNER.ensure(num_cpus)


def restart_ray() -> None:
    """Shut a broken Ray down and start (or rejoin) it again, from the owner thread."""
    _OWNER.restart()


def cluster_gpus() -> float:
    """GPUs Ray can schedule on across the cluster (0 on a CPU-only machine)."""
    import ray

    return float(ray.cluster_resources().get("GPU", 0))


def cluster_cpus() -> int:
    """CPUs Ray can schedule on (the local bound, or the whole cluster)."""
    import ray

    return int(ray.cluster_resources().get("CPU", 1))
