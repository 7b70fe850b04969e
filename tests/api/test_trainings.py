"""Full-fidelity training through the API, no driver, both backends: queueing a training (an architecture, a
fitted zoo network, a spec) and a finalize, the refusals naming the field, and downloads of a trained network
(its files under the artifacts directory, never a path outside it)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from searchspace import zoo
from store import crud
from store.db import session_scope
from store.models import JobState, Search
from store.settings import Settings
from tests.workers import tiny_spec
from workers.runtime import TrialState
from workers.search import TrialRecord

SEARCH = {"n_trials": 3, "n_workers": 1, "training": {"epochs": 1}, "dataset": {"subset": 0.3}}
TRAINING = {"architecture": {"zoo": "mobilenet_v2"}, "dataset": {"subset": 0.3}, "recipe": {"epochs": 2}}


def _loc(response) -> list:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


def _search(client: TestClient, settings: Settings, state: JobState = JobState.SUCCEEDED,
            completed: int = 2) -> str:
    """A search in ``state`` with ``completed`` completed trials (and one failed), as a driver leaves it."""
    search_id = client.post("/v1/searches", json=SEARCH).json()["id"]
    spec_key = tiny_spec(num_classes=10).to_string()
    with session_scope(settings.database_url) as session:
        for number in range(completed + 1):
            state_of = TrialState.COMPLETE if number < completed else TrialState.FAIL
            crud.record_trial(session, search_id=uuid.UUID(search_id), record=TrialRecord(
                number=number, state=state_of, accuracy=0.5 + number / 10 if state_of is TrialState.COMPLETE else None,
                macs=1000 + number, params=10, spec_key=spec_key))
        session.get(Search, uuid.UUID(search_id)).state = state
    return search_id


def test_a_zoo_network_is_fitted_to_the_data_and_stored_as_an_architecture(client: TestClient) -> None:
    response = client.post("/v1/trainings", json={**TRAINING, "name": "mnv2"})
    assert response.status_code == 201, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/trainings/{job['id']}"
    assert job["state"] == "queued" and job["name"] == "mnv2" and job["result"] is None
    assert job["config"]["training"]["recipe"]["epochs"] == 2 and job["config"]["training"]["threads"] == 1
    assert job["config"]["architecture"] == {"zoo": "mobilenet_v2"}
    arch = client.get(f"/v1/architectures/{job['architecture_id']}").json()
    assert arch["spec"]["num_classes"] == 10 and arch["spec"]["in_chans"] == 1  # fitted to digits
    assert arch["origin"] == {"kind": "training", "zoo": "mobilenet_v2", "training_id": job["id"]}
    assert arch["trained"] is None and arch["test_accuracy"] is None
    assert job["config"]["spec"] == arch["spec"]
    listed = client.get("/v1/trainings", params={"architecture_id": job["architecture_id"]}).json()
    assert [t["id"] for t in listed["data"]] == [job["id"]] and listed["count"] == 1
    assert client.get(f"/v1/trainings/{job['id']}").json()["id"] == job["id"]


def test_a_search_trial_trains_on_its_search_data(client: TestClient, settings: Settings) -> None:
    search_id = _search(client, settings)
    trial = client.get(f"/v1/searches/{search_id}/trials", params={"state": "COMPLETE"}).json()["data"][0]
    job = client.post("/v1/trainings", json={"architecture": {"architecture_id": trial["id"]}}).json()
    assert job["architecture_id"] == trial["id"]
    dataset = job["config"]["training"]["dataset"]
    assert dataset["source"] == "digits" and dataset["subset"] == 1.0  # the search's data, all of it
    assert job["config"]["spec"] == trial["spec"]


@pytest.mark.parametrize(("body", "loc"), [
    ({"recipe": {"epochs": 1000}}, ["body", "recipe", "epochs"]),  # above NAS_MAX_EPOCHS
    ({"recipe": {"epochs": 0}}, ["body", "recipe", "epochs"]),
    ({"recipe": {"resolution": 4}}, ["body", "recipe", "resolution"]),
    ({"recipe": {"optimizer": "adam"}}, ["body", "recipe", "optimizer"]),
    ({"threads": 0}, ["body", "threads"]),
    ({"threads": 65}, ["body", "threads"]),  # above NAS_MAX_WORKERS
    ({"architecture": {"zoo": "resnet50"}}, ["body", "architecture", "zoo"]),
    ({"architecture": {"zoo": "mobilenet_v2", "spec": {}}}, ["body", "architecture"]),
    ({"architecture": {"spec": {"stages": "x"}}}, ["body", "architecture", "spec"]),
    ({"dataset": {"source": "/etc"}}, ["body", "dataset", "source"]),
    ({"recipe": {"epochs": 2, "seed": -1}}, ["body", "recipe", "seed"]),
])
def test_bad_trainings_are_refused_naming_the_field(client: TestClient, body: dict, loc: list) -> None:
    assert _loc(client.post("/v1/trainings", json={**TRAINING, **body}))[:len(loc)] == loc


def test_a_spec_for_other_channels_is_refused(client: TestClient) -> None:
    spec = tiny_spec(in_chans=3).to_dict()
    response = client.post("/v1/trainings", json={**TRAINING, "architecture": {"spec": spec}})
    assert _loc(response) == ["body", "architecture"] and "3-channel" in response.json()["detail"][0]["msg"]
    assert client.post("/v1/trainings", json={"architecture": {"architecture_id": str(uuid.uuid4())}}).status_code == 404


def test_finalize_needs_an_ended_search_with_a_completed_trial(client: TestClient, settings: Settings) -> None:
    running = _search(client, settings, state=JobState.RUNNING)
    refused = client.post(f"/v1/searches/{running}/finalize", json={})
    assert refused.status_code == 409 and "running" in refused.json()["detail"]
    empty = _search(client, settings, completed=0)
    assert client.post(f"/v1/searches/{empty}/finalize", json={}).status_code == 409
    assert client.post(f"/v1/searches/{uuid.uuid4()}/finalize", json={}).status_code == 404
    search_id = _search(client, settings)
    assert _loc(client.post(f"/v1/searches/{search_id}/finalize", json={"top_k": 0})) == ["body", "top_k"]
    assert _loc(client.post(f"/v1/searches/{search_id}/finalize", json={"recipe": {"epochs": 101}}))[:3] == [
        "body", "recipe", "epochs"]
    assert _loc(client.post(f"/v1/searches/{search_id}/finalize", json={"workers": 100})) == ["body", "workers"]
    created = client.post(f"/v1/searches/{search_id}/finalize", json={"top_k": 2, "recipe": {"epochs": 3},
                                                                      "name": "full"})
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["search_id"] == search_id and job["state"] == "queued" and job["proxy_truth"] is None
    assert job["config"]["finalize"]["top_k"] == 2 and job["config"]["finalize"]["recipe"]["epochs"] == 3
    listed = client.get("/v1/finalizes", params={"search_id": search_id}).json()
    assert [f["id"] for f in listed["data"]] == [job["id"]]
    # the search cannot be deleted while its finalize waits: the finalize reads its study
    refused = client.delete(f"/v1/searches/{search_id}")
    assert refused.status_code == 409 and "finalize" in refused.json()["detail"]
    assert client.post(f"/v1/finalizes/{job['id']}/cancel").json()["state"] == "cancelled"
    assert client.delete(f"/v1/searches/{search_id}").status_code == 204
    kept = client.get(f"/v1/finalizes/{job['id']}").json()  # its report outlives the search
    assert kept["search_id"] is None and client.delete(f"/v1/finalizes/{job['id']}").status_code == 204


def _trained(client: TestClient, settings: Settings, files: dict[str, str]) -> tuple[dict, Path]:
    """A queued training whose architecture carries a trained record with ``files`` (relative to the artifacts
    directory, ``{job}`` standing for the job's directory name), as a driver leaves it; the job and its
    directory."""
    job = client.post("/v1/trainings", json=TRAINING).json()
    directory = settings.artifacts / "trainings" / uuid.UUID(job["id"]).hex
    directory.mkdir(parents=True)
    files = {key: path.replace("{job}", directory.name) for key, path in files.items()}
    for name in ("model.py", "weights.safetensors", "model.onnx"):
        (directory / name).write_bytes(f"trained {name}".encode())
    with session_scope(settings.database_url) as session:
        crud.record_trained(session, architecture_id=uuid.UUID(job["architecture_id"]), job_id=uuid.UUID(job["id"]),
                            test_accuracy=0.875, trained={"test_accuracy": 0.875, "files": files, "epochs": [],
                                                          "export_errors": {"torchscript": "no"}})
    return job, directory


def test_downloads_serve_the_trained_files_once_trained(client: TestClient, settings: Settings) -> None:
    job = client.post("/v1/trainings", json=TRAINING).json()
    links = client.get(f"/v1/architectures/{job['architecture_id']}").json()["links"]
    seeded = client.get(links["weights"])
    assert seeded.status_code == 200 and seeded.headers["x-nas-weights"] == "seeded"
    assert client.get(links["weights"], params={"weights": "trained"}).status_code == 409
    files = {key: f"trainings/{{job}}/{name}" for key, name in (("python", "model.py"),
                                                              ("weights", "weights.safetensors"),
                                                              ("onnx", "model.onnx"))}
    job, directory = _trained(client, settings, files)
    arch = client.get(f"/v1/architectures/{job['architecture_id']}").json()
    assert arch["test_accuracy"] == 0.875 and set(arch["trained"]["files"]) == set(files)
    for link, name in (("code", "model.py"), ("weights", "weights.safetensors"), ("onnx", "model.onnx")):
        response = client.get(arch["links"][link])
        assert response.status_code == 200 and response.content == f"trained {name}".encode(), link
        assert response.headers["x-nas-weights"] == "trained" and "_trained" in response.headers["content-disposition"]
    assert client.get(arch["links"]["weights"], params={"weights": "seeded"}).headers["x-nas-weights"] == "seeded"
    missing = client.get(arch["links"]["torchscript"])  # its export failed: said so, not served seeded
    assert missing.status_code == 409 and "no" in missing.json()["detail"]
    (directory / "model.onnx").unlink()
    assert client.get(arch["links"]["onnx"]).status_code == 409
    # deleting the training forgets what it trained and removes its files; the architecture stays
    assert client.delete(f"/v1/trainings/{job['id']}").status_code == 204
    assert not directory.exists()
    arch = client.get(f"/v1/architectures/{job['architecture_id']}").json()
    assert arch["trained"] is None and arch["test_accuracy"] is None
    assert client.get(arch["links"]["weights"]).headers["x-nas-weights"] == "seeded"


def test_a_recorded_path_outside_the_artifacts_directory_is_never_served(client: TestClient,
                                                                          settings: Settings) -> None:
    outside = settings.artifacts.parent / "secret.txt"
    outside.write_text("secret")
    try:
        job, _ = _trained(client, settings, {"weights": "../secret.txt", "python": str(outside)})
        arch = client.get(f"/v1/architectures/{job['architecture_id']}").json()
        for link in ("weights", "code"):
            response = client.get(arch["links"][link])
            assert response.status_code == 409 and b"secret" not in response.content
    finally:
        outside.unlink()


def test_the_zoo_fit_matches_the_train_command(client: TestClient) -> None:
    """The API fits a zoo network exactly as ``python -m workers train --zoo`` does (``fitted_zoo``)."""
    from workers.data import DatasetConfig
    from workers.training import TrainRecipe, fitted_zoo

    job = client.post("/v1/trainings", json={**TRAINING, "recipe": {"epochs": 2, "resolution": 16}}).json()
    expected = fitted_zoo("mobilenet_v2", DatasetConfig(subset=0.3).validate(), TrainRecipe(epochs=2, resolution=16))
    assert job["config"]["spec"] == expected.to_dict() and expected.resolution == 16
    assert zoo.get("mobilenet_v2").to_dict() != expected.to_dict()
