"""A one-shot search through the API: queued with ``"strategy": "oneshot"``, run by the driver service on real
Ray (supernet training as its first phase, its progress on the search), its trials, Pareto front and best like a
multi-trial search's, its supernet kept when it ends; then finalized (its top trial fine-tuned at full fidelity
from the weights it inherits), and the supernet deleted with the search. Bad one-shot settings are refused by field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jobs.kind import study_name
from store.settings import Settings
from tests.jobs.test_service import running, wait_for
from tests.jobs.test_training_jobs import wait_job
from workers.search import supernet_checkpoint

pytestmark = pytest.mark.usefixtures("ray_session")
SPACE = {"resolutions": [12], "kinds": ["mbconv", "ghost", "micro"], "kernels": [3, 5], "expansions": [1.0, 3.0],
         "width_factors": [0.5], "repeat_deltas": [0], "acts": ["relu", "hswish"]}
ONESHOT = {"strategy": "oneshot", "n_trials": 8, "n_workers": 2, "sampler": "tpe", "objective": "macs", "seed": 2,
           "baselines": [], "dataset": {"subset": 0.3}, "space": SPACE,
           "supernet": {"training": {"epochs": 1, "batch_size": 64, "bn_calibration": 128}}}


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('oneshot') / 'store.db'}"


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=database_url, max_concurrent_searches=100, poll_s=0.2, heartbeat_s=0.5,
                    stale_after_s=30.0, read_cache_s=0, export_dir=tmp_path_factory.mktemp("exports"),
                    checkpoint_dir=tmp_path_factory.mktemp("checkpoints"),
                    artifacts_dir=tmp_path_factory.mktemp("artifacts"))


def test_a_oneshot_search_runs_through_the_api_and_finalizes(client: TestClient, settings: Settings) -> None:
    created = client.post("/v1/searches", json=ONESHOT)
    assert created.status_code == 201, created.text
    search_id = created.json()["id"]
    assert created.json()["config"]["strategy"] == "oneshot" and created.json()["supernet"] is None
    with running(settings):
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
        assert body["state"] == "succeeded" and body["stopped"] == "budget", body
        supernet = body["supernet"]
        assert supernet["state"] == "trained" and supernet["step"] == supernet["steps"] > 0
        assert supernet["epochs_run"] == 1 and 0.0 < supernet["largest_accuracies"][0] <= 1.0
        assert body["progress"]["complete"] == ONESHOT["n_trials"] and body["best"]["accuracy"] is not None
        pareto = client.get(f"/v1/searches/{search_id}/pareto").json()
        assert pareto["count"] >= 1 and all(t["state"] == "COMPLETE" for t in pareto["data"])
        checkpoint = supernet_checkpoint(settings.checkpoint_dir, study_name("search", uuid.UUID(search_id)))
        assert checkpoint is not None and checkpoint.exists()  # kept for the finalize
        created = client.post(f"/v1/searches/{search_id}/finalize", json={
            "top_k": 1, "baselines": False, "subset": 0.3, "workers": 1,
            "recipe": {"epochs": 1, "resolution": 12, "batch_size": 64, "bn_calibration": 128}})
        assert created.status_code == 201, created.text
        final = wait_job(client, f"/v1/finalizes/{created.json()['id']}",
                         lambda b: b["state"] not in ("queued", "running"), timeout_s=300)
    assert final["state"] == "succeeded", final
    [network] = final["result"]["networks"]
    assert network["state"] == "COMPLETE" and network["kind"] == "trial" and 0.0 <= network["test_accuracy"] <= 1.0
    assert network["inherited"]  # fine-tuned from the supernet's weights
    arch = client.get(f"/v1/architectures/{network['architecture_id']}").json()
    assert arch["trained"]["inherited"] and arch["trained"]["job"]["id"] == final["id"]
    assert client.delete(f"/v1/finalizes/{final['id']}").status_code == 204
    assert client.delete(f"/v1/searches/{search_id}").status_code == 204
    assert not checkpoint.exists()  # it goes with the search


@pytest.mark.parametrize(("body", "field"), [
    ({"strategy": "one-shot"}, "strategy"),
    ({"supernet": {"random_subnets": 99}}, "supernet.random_subnets"),
    ({"supernet": {"training": {"epochs": 0}}}, "supernet.training.epochs"),
    ({"supernet": {"sampling": "every"}}, "supernet.sampling"),
])
def test_bad_oneshot_settings_are_refused_by_field(client: TestClient, body: dict, field: str) -> None:
    response = client.post("/v1/searches", json={**ONESHOT, **body})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", *field.split(".")]
