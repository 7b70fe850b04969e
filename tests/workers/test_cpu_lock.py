"""The per-node CPU lock: trainings share it, a measurement waits for them and holds new ones back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from workers.latency import cpu_lock


@pytest.fixture(autouse=True)
def _own_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_CPU_LOCK_DIR", str(tmp_path))


def test_trainings_share_and_a_measurement_waits_then_goes_first() -> None:
    events: list[str] = []
    first = cpu_lock.training()
    first.__enter__()
    with cpu_lock.training():  # a second training runs beside the first
        events.append("second training")

    def measure() -> None:
        with cpu_lock.measuring():
            events.append("measure")
            time.sleep(0.2)

    def train_later() -> None:
        with cpu_lock.training():
            events.append("later training")

    measurer = threading.Thread(target=measure)
    measurer.start()
    time.sleep(0.2)
    later = threading.Thread(target=train_later)
    later.start()
    time.sleep(0.2)
    assert events == ["second training"]  # the measurement waits for the running training, the new one queues
    first.__exit__(None, None, None)
    measurer.join(5)
    later.join(5)
    assert events == ["second training", "measure", "later training"]


def _dir_in_child() -> str:
    import subprocess
    import sys

    code = "from workers.latency import cpu_lock; print(cpu_lock.lock_dir())"
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def test_outside_ray_no_two_processes_share_a_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAS_CPU_LOCK_DIR")
    here = cpu_lock.lock_dir()
    assert here == cpu_lock.lock_dir()  # stable within the process
    assert str(here) != _dir_in_child()  # not one machine-wide file


def test_a_service_passes_its_own_dir_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_CPU_LOCK_DIR", str(tmp_path / "service"))
    assert _dir_in_child() == str(tmp_path / "service")


def _lock_dir_remote() -> str:
    import os

    os.environ.pop("NAS_CPU_LOCK_DIR", None)
    return str(cpu_lock.lock_dir())


@pytest.mark.usefixtures("ray_session")
def test_ray_workers_of_a_node_share_the_nodes_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.delenv("NAS_CPU_LOCK_DIR")
    remote = ray.remote(num_cpus=0)(_lock_dir_remote)
    dirs = set(ray.get([remote.remote() for _ in range(4)]))
    context = ray.get_runtime_context()
    assert dirs == {str(cpu_lock.lock_dir())}  # the driver and every worker on this node
    (path,) = dirs
    assert context.get_session_name() in path and context.get_node_id()[:16] in path
