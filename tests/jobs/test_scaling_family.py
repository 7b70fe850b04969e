"""A full-fidelity scaling search as a job, end to end on the real service (both backends, real Ray, real training
with a tiny recipe, one seed): the candidates, the family and its baselines in the job's result with their products, each
trained member stored as an architecture of origin kind scaling-search with its phi and product directory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from store.settings import Settings
from tests.jobs.test_service import running
from tests.scaler.test_family import BASE

pytestmark = pytest.mark.usefixtures("ray_session")
TINY = {"fidelity": "full", "resolution": None, "proxy_width": 1.0, "proxy_depth": 1.0, "max_candidates": 2,
        "seeds": 1, "phis": [0, 1], "dataset": {"subset": 0.3}, "latency": {"warmup": 2, "repeats": 5},
        "recipe": {"epochs": 1, "batch_size": 64, "bn_calibration": 64, "auto_augment": "none", "ema_decay": 0.0}}


def test_a_full_fidelity_scaling_search_trains_and_stores_its_family(client: TestClient, settings: Settings) -> None:
    created = client.post("/v1/scaling-searches", json={"base": {"spec": BASE.to_dict()}, **TINY})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert created.json()["config"]["family_runs"] == 4
    with running(settings, grid_evaluate=None):  # the real evaluations
        deadline = time.monotonic() + 400
        while (job := client.get(f"/v1/scaling-searches/{job_id}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["counts"]["complete"] == 2 and result["chosen"]["test_accuracy"] is not None
    family = result["family"]
    out = settings.artifacts / "scaling-searches" / job_id.replace("-", "")
    assert Path(family["out"]).is_relative_to(out)
    members, baselines = family["members"], family["baselines"]
    assert [m["phi"] for m in members] == [0, 1] and [b["phi"] for b in baselines] == [0, 1]
    for n in members + baselines:
        assert n["error"] is None and n["seeds"] == [0] and len(n["test_accuracies"]) == 1
        assert n["latency_ms"] > 0 and n["macs"] > 0
        assert Path(n["directory"], "weights.safetensors").exists() and Path(n["directory"], "model.onnx").exists()
    assert [c["verdict"] for c in family["comparisons"]] == ["untested", "untested"]  # one seed: no test
    for m in members:
        arch = client.get(f"/v1/architectures/{m['architecture_id']}").json()
        origin = arch["origin"]
        assert origin["kind"] == "scaling-search" and origin["scaling_search_id"] == job_id
        assert origin["phi"] == m["phi"] and origin["product"] == m["directory"]
        assert origin["test_accuracies"] == m["test_accuracies"] and arch["macs"] == m["macs"]
        assert (origin["alpha"], origin["beta"], origin["gamma"]) == (family["alpha"], family["beta"], family["gamma"])
        assert arch["test_accuracy"] == pytest.approx(m["test_accuracy"])  # downloads are the trained member's
        weights = client.get(f"/v1/architectures/{m['architecture_id']}/weights")
        assert weights.status_code == 200 and weights.headers["x-nas-weights"] == "trained"
        assert weights.content == Path(m["directory"], "weights.safetensors").read_bytes()
    assert result["chosen_architecture_id"] == members[1]["architecture_id"]  # phi = 1: the family's own
    assert client.delete(f"/v1/scaling-searches/{job_id}").status_code == 204  # its files go; its networks stay
    assert not out.exists()
    kept = client.get(f"/v1/architectures/{members[0]['architecture_id']}").json()
    assert kept["test_accuracy"] is None and kept["trained"] is None
