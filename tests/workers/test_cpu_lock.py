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
