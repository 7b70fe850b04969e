"""End to end, as users run it: the service as processes on 127.0.0.1 (uvicorn, real Ray, real training on
digits), SQLite with the embedded driver, PostgreSQL with a separate driver (the docker-compose layout).

A training and a finalize of a finished search, each network's ``.py`` and weights downloaded and run in a fresh
interpreter with only torch on the held-out test split: the reported test accuracy, exactly. And a training
whose every service process is killed with SIGKILL mid-run: the next start resumes it from its last epoch's
checkpoint, not from scratch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service_process import running_service, wait_for
from tests.workers import tiny_spec

pytestmark = pytest.mark.slow
SEARCH = {"n_trials": 3, "n_workers": 2, "sampler": "random", "pruner": "none", "seed": 2, "objective": "macs",
          "space": {"resolutions": [12]}, "dataset": {"subset": 0.3}, "training": {"epochs": 1, "batch_size": 32},
          "baselines": ["micronet_m1"]}
RECIPE = {"epochs": 2, "resolution": 12, "batch_size": 64, "bn_calibration": 128}
FRESH = """
import importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("model", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
torch.set_num_threads(1)
model = module.load_model(sys.argv[2])
x, y = torch.load(sys.argv[3], weights_only=True)
with torch.inference_mode():
    accuracy = float((model(x).argmax(1) == y).float().mean())
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("searchspace", "workers", "api", "safetensors"))
print(json.dumps({"accuracy": accuracy, "mean": list(module.INPUT_MEAN), "ours": ours}))
"""


def wait_job(client: httpx.Client, path: str, done, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(path).raise_for_status().json()
        if done(body):
            return body
        time.sleep(0.5)
    raise AssertionError(f"timed out: {body['state']} {json.dumps(body['result'])[:2000]}")


def ended(body: dict) -> bool:
    return body["state"] not in ("queued", "running")


def reproduce(client: httpx.Client, architecture_id: str, subset: float, tmp_path: Path) -> tuple[float, dict]:
    """Download the trained .py and weights, run them in a fresh interpreter with only torch on the test split;
    the accuracy it reports, and the architecture."""
    from workers.data import DatasetConfig

    arch = client.get(f"/v1/architectures/{architecture_id}").raise_for_status().json()
    code, weights = (client.get(arch["links"][link]) for link in ("code", "weights"))
    assert code.status_code == weights.status_code == 200
    assert code.headers["x-nas-weights"] == weights.headers["x-nas-weights"] == "trained"
    directory = tmp_path / architecture_id
    directory.mkdir()
    (directory / "model.py").write_bytes(code.content)
    (directory / "weights.safetensors").write_bytes(weights.content)
    split = DatasetConfig(subset=subset).load(arch["trained"]["spec"]["resolution"], 1, test=True)
    import torch

    torch.save((split.x_test, split.y_test), directory / "test.pt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of this project importable
    done = subprocess.run([sys.executable, "-c", FRESH, *(str(directory / n) for n in
                                                          ("model.py", "weights.safetensors", "test.pt"))],
                          capture_output=True, text=True, cwd=directory, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = json.loads(done.stdout)
    assert fresh["ours"] == [] and fresh["mean"] == pytest.approx(list(split.mean))
    assert arch["trained"]["test_size"] == len(split.y_test)
    return fresh["accuracy"], arch


def test_trained_networks_download_and_reproduce_their_test_accuracy(database_url: str, tmp_path: Path) -> None:
    embedded = database_url.startswith("sqlite")
    logs = tmp_path / "service.log"
    artifacts = tmp_path / "artifacts"
    with running_service(database_url, embedded, logs, extra_env={"NAS_ARTIFACTS_DIR": str(artifacts)}) as run:
        client = run.client
        search_id = client.post("/v1/searches", json=SEARCH).raise_for_status().json()["id"]
        training = client.post("/v1/trainings", json={
            "architecture": {"zoo": "mobilenet_v2"}, "dataset": {"subset": 0.3}, "recipe": RECIPE}).json()
        body = wait_for(client, search_id, ended, timeout_s=300)
        assert body["state"] == "succeeded", (body, logs.read_text()[-3000:])
        created = client.post(f"/v1/searches/{search_id}/finalize", json={
            "top_k": 2, "subset": 0.3, "workers": 2, "recipe": RECIPE})
        assert created.status_code == 201, created.text
        job = wait_job(client, f"/v1/trainings/{training['id']}", ended, timeout_s=300)
        assert job["state"] == "succeeded", (job, logs.read_text()[-3000:])
        network = job["result"]["network"]
        assert network["state"] == "COMPLETE" and [e["epoch"] for e in network["epochs"]] == [0, 1]
        accuracy, arch = reproduce(client, job["architecture_id"], 0.3, tmp_path)
        assert accuracy == arch["test_accuracy"] == network["test_accuracy"]
        assert arch["trained"]["job"] == {"kind": "training", "id": training["id"]}
        assert (artifacts / arch["trained"]["files"]["weights"]).is_file()

        final = wait_job(client, f"/v1/finalizes/{created.json()['id']}", ended, timeout_s=400)
    assert final["state"] == "succeeded", (final, logs.read_text()[-3000:])
    networks = final["result"]["networks"]
    assert [n["kind"] for n in networks] == ["trial", "trial", "baseline"]
    assert all(n["state"] == "COMPLETE" and len(n["epochs"]) == 2 and n["architecture_id"] for n in networks)
    truth = final["proxy_truth"]
    assert truth["agreement"]["n"] == 3 and truth["agreement_sentence"] and truth["dominance_sentence"]
    assert [b["name"] for b in truth["baselines"]] == ["baseline-micronet_m1"]
    with running_service(database_url, embedded, logs, extra_env={"NAS_ARTIFACTS_DIR": str(artifacts)}) as run:
        client = run.client  # a restarted service serves what the last one trained
        for n in networks:
            accuracy, arch = reproduce(client, n["architecture_id"], 0.3, tmp_path)
            assert accuracy == arch["test_accuracy"] == n["test_accuracy"]
            assert arch["accuracy"] == n["proxy_accuracy"]  # the proxy's figure stays beside the full one
            assert arch["trained"]["job"]["id"] == final["id"]
        assert client.get(f"/v1/searches/{search_id}").json()["state"] == "succeeded"


def test_a_killed_service_resumes_its_training_from_the_last_checkpoint(database_url: str, tmp_path: Path) -> None:
    embedded = database_url.startswith("sqlite")
    logs = tmp_path / "service.log"
    env = {"NAS_ARTIFACTS_DIR": str(tmp_path / "artifacts")}
    body = {"architecture": {"spec": tiny_spec(resolution=16).to_dict()}, "dataset": {"subset": 1.0},
            "recipe": {"epochs": 12, "resolution": 32, "batch_size": 32, "bn_calibration": 64}}
    with running_service(database_url, embedded, logs, extra_env=env) as run:
        job = run.client.post("/v1/trainings", json=body).raise_for_status().json()
        path = f"/v1/trainings/{job['id']}"
        seen = wait_job(run.client, path, lambda b: len(((b["result"] or {}).get("network") or {})
                                                        .get("epochs", [])) >= 2, timeout_s=240)
        assert seen["state"] == "running"
        before = seen["result"]["network"]["epochs"]
    # every service process was killed with SIGKILL mid-training (the driver and its Ray worker too)
    assert len(before) < 12, "the training ended before it could be killed"
    with running_service(database_url, embedded, logs, extra_env=env) as run:
        done = wait_job(run.client, path, ended, timeout_s=300)
    assert done["state"] == "succeeded" and done["attempts"] == 2, (done, logs.read_text()[-3000:])
    network = done["result"]["network"]
    assert network["resumed_from"] >= len(before)  # from the checkpoint, not from epoch 0
    assert [e["epoch"] for e in network["epochs"]] == list(range(12))
    for old, new in zip(before, network["epochs"], strict=False):  # the epochs before the kill are kept as they were
        assert new == old
