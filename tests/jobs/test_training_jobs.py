"""The training kind under the driver service (``python -m jobs``'s loop) with real Ray and real training on
digits, both backends: a training's epochs are visible while it runs, a cancel stops it within seconds without
recording a trained network, and deleting it removes its files."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from store.settings import Settings
from tests.jobs.test_service import running
from tests.workers import tiny_spec

pytestmark = pytest.mark.usefixtures("ray_session")
LONG = {"architecture": {"spec": tiny_spec(resolution=16).to_dict()}, "dataset": {"subset": 1.0},
        "recipe": {"epochs": 100, "resolution": 16, "batch_size": 32, "bn_calibration": 64}}


def wait_job(client: TestClient, path: str, done, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(path).json()
        if done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"timed out: {body['state']} {body['result']}")


def test_a_running_training_shows_its_epochs_and_is_cancelled(client: TestClient, settings: Settings) -> None:
    created = client.post("/v1/trainings", json=LONG)
    assert created.status_code == 201, created.text
    job = created.json()
    path = f"/v1/trainings/{job['id']}"
    with running(settings):
        body = wait_job(client, path, lambda b: len(((b["result"] or {}).get("network") or {}).get("epochs", [])) >= 2)
        network = body["result"]["network"]
        assert body["state"] == "running" and network["state"] == "RUNNING" and network["epochs_total"] == 100
        assert [e["epoch"] for e in network["epochs"][:2]] == [0, 1]
        assert all(0.0 <= e["val_accuracy"] <= 1.0 and e["train_loss"] > 0 for e in network["epochs"])
        assert client.post(f"{path}/cancel").json()["state"] == "running"  # stops at its next check
        started = time.monotonic()
        body = wait_job(client, path, lambda b: b["state"] != "running", timeout_s=30)
        assert time.monotonic() - started < 20
    assert body["state"] == "cancelled", body
    assert 2 <= len(body["result"]["network"]["epochs"]) < 100
    arch = client.get(f"/v1/architectures/{job['architecture_id']}").json()
    assert arch["trained"] is None and arch["test_accuracy"] is None  # nothing trained to the end
    directory = settings.artifacts / "trainings" / job["id"].replace("-", "")
    assert (directory / "checkpoint.pt").exists()
    assert client.delete(path).status_code == 204
    assert not directory.exists() and client.get(path).status_code == 404
