"""A search against an uploaded device profile, through the API and the driver service with real Ray and real
training: no forward pass is timed on the worker, every trial's latency is the table's prediction."""

from __future__ import annotations

import cloudpickle
import pytest
from fastapi.testclient import TestClient

from searchspace.latency_table import DeviceProfile, predict
from searchspace.spec import ArchSpec
from store.settings import Settings
from tests.api.test_devices import SEARCH, profile  # noqa: F401 (the fixture)
from tests.jobs.test_service import _trials, running, wait_for
from tests.workers import profiled_eval

cloudpickle.register_pickle_by_value(profiled_eval)
pytestmark = pytest.mark.usefixtures("ray_session")


def test_search_reads_predicted_latencies_in_its_pareto_front(client: TestClient, settings: Settings,
                                                              profile: DeviceProfile) -> None:  # noqa: F811
    device_id = client.post("/v1/devices", content=profile.to_json(), params={"name": "tiny"}).json()["id"]
    response = client.post("/v1/searches", json={**SEARCH, "n_trials": 1, "latency": {"device": device_id}})
    assert response.status_code == 201, response.text
    search_id = response.json()["id"]
    with running(settings, evaluate=profiled_eval.untimed_evaluate, name="device"):
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
    assert body["state"] == "succeeded", body
    trials = [t for t in _trials(client, search_id) if t["state"] == "COMPLETE"]  # SPACE holds one architecture
    assert len(trials) == 1, [t["error"] for t in _trials(client, search_id)]
    for t in trials:
        assert t["latency_ms"] == pytest.approx(predict(ArchSpec.from_dict(t["spec"]), profile))
        assert t["details"]["latency_source"].startswith(f"predicted from device profile {device_id}")
        assert "device" not in t["details"]  # nothing was measured on a worker
    pareto = client.get(f"/v1/searches/{search_id}/pareto").json()["data"]
    assert pareto and all(p["latency_ms"] > 0 for p in pareto)
