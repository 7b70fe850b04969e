"""The embedded driver is supervised: restarted with a doubling backoff whenever it exits, never after the API
stops it; the real ``python -m api --with-driver`` brings a killed driver back and healthz shows it."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from api.embedded import DriverProcess
from store.settings import Settings
from tests.service_process import running_service

EXIT_3 = (sys.executable, "-c", "import sys; sys.exit(3)")


class _Waits(threading.Event):
    """A stop event whose timed waits return at once, recording the delay asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.delays: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None:
            return super().wait()
        self.delays.append(timeout)
        return self.is_set()


def _supervised(tmp_path: Path, **kwargs: float) -> tuple[DriverProcess, _Waits]:
    driver = DriverProcess(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), command=EXIT_3, **kwargs)
    driver._stopping = waits = _Waits()
    return driver, waits


def _until(condition, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_driver_that_keeps_exiting_is_restarted_with_a_doubling_backoff(tmp_path: Path) -> None:
    driver, waits = _supervised(tmp_path, restart_s=1.0, max_restart_s=8.0, stable_s=3600)
    driver.start()
    _until(lambda: driver.restarts >= 6)
    driver.stop()
    assert waits.delays[:6] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert driver.state().last_exit_code == 3 and not driver.state().alive


def test_the_backoff_starts_over_after_a_stable_run_and_stop_ends_the_restarts(tmp_path: Path) -> None:
    driver, waits = _supervised(tmp_path, restart_s=0.5, stable_s=0.0)  # every run counts as stable
    driver.start()
    _until(lambda: driver.restarts >= 3)
    driver.stop()
    restarts = driver.restarts
    time.sleep(0.5)
    assert set(waits.delays) == {0.5} and driver.restarts == restarts


def test_the_embedded_driver_comes_back_after_it_is_killed(tmp_path: Path) -> None:
    with running_service(f"sqlite:///{tmp_path / 'svc.db'}", True, tmp_path / "service.log") as run:
        first = run.client.get("/v1/healthz").json()["embedded_driver"]
        assert first["alive"] and first["restarts"] == 0
        os.kill(first["pid"], signal.SIGKILL)  # before: never restarted, healthz said ok with 0 drivers for ever

        def back() -> bool:
            health = run.client.get("/v1/healthz").json()
            now = health["embedded_driver"]
            return now["alive"] and now["pid"] != first["pid"] and health["drivers"] >= 1

        _until(back, timeout_s=90)
        state = run.client.get("/v1/healthz").json()["embedded_driver"]
        assert state["restarts"] == 1 and state["last_exit_code"] == -signal.SIGKILL
