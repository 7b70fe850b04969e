"""Every job kind in the registry can be cancelled and deleted through the API, with its Optuna studies, on both
backends; the UI reads the kinds and states from the registry."""

from __future__ import annotations

import uuid

import optuna
import pytest
from fastapi.testclient import TestClient

from jobs.kind import study_name
from jobs.registry import KINDS, job_models, kind_of
from store import queue
from store.models import JobState
from store.settings import Settings
from workers.runtime import open_storage

SCALING = {"base": {"zoo": "efficientnet_b0"}, "step": 0.1, "max_candidates": 2, "training": {"epochs": 1},
           "name": "B0 grid"}
SEARCH = {"n_trials": 3, "n_workers": 1, "training": {"epochs": 1}, "dataset": {"subset": 0.3}, "name": "tiny"}
TRAINING = {"architecture": {"zoo": "mobilenet_v2"}, "recipe": {"epochs": 1}}
BODIES = {"search": SEARCH, "scaling-search": SCALING, "training": TRAINING, "finalize": {"top_k": 1}}


def _queue(client: TestClient, kind: str) -> str:
    path = f"/v1/{KINDS[kind].path}"
    if kind == "finalize":  # of a search that ended with a completed trial
        from tests.api.test_trainings import _search

        path = f"/v1/searches/{_search(client, client.app.state.settings)}/finalize"
    response = client.post(path, json=BODIES[kind])
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _with_studies(client: TestClient, url: str, kind: str, job_id: str) -> list[str]:
    """Give the job its studies (named after it), each with a finished trial, as a run would."""
    shown = client.get(f"/v1/{KINDS[kind].path}/{job_id}").json()
    if "study" in shown:  # a kind that runs in a study of its own, named after the job
        study = shown["study"]
        assert study == study_name(kind, uuid.UUID(job_id), BODIES[kind]["name"])
    else:  # trainings and finalizes hold no study column: the unnamed form, dropped with them all the same
        study = study_name(kind, uuid.UUID(job_id))
    names = KINDS[kind].studies(study)
    for name in names:
        study = optuna.create_study(storage=open_storage(url), study_name=name, load_if_exists=True)
        study.add_trial(optuna.trial.create_trial(value=0.5))
    return names


def test_the_registry_names_every_kind_once() -> None:
    assert set(KINDS) == {"search", "scaling-search", "training", "finalize"}
    assert len(set(job_models())) == len(KINDS) and all(kind_of(k.model) is k for k in KINDS.values())
    job = uuid.uuid4()
    assert study_name("search", job) == f"search-{job.hex}"  # the names studies of jobs without a name carry
    assert study_name("search", job, "My digits: 16px!") == f"search-my-digits-16px-{job.hex}"
    assert study_name("search", job, "--") == f"search-{job.hex}"
    assert len(study_name("scaling-search", job, "x" * 100)) == len("scaling-search-") + 60 + 1 + 32
    assert KINDS["scaling-search"].studies("grid") == ["grid"]
    assert KINDS["search"].studies("s") == ["s", "s-baselines"]


def test_every_kind_has_cancel_and_delete(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for kind in KINDS.values():
        job = next(p for p in paths if p.startswith(f"/v1/{kind.path}/{{") and p.count("/") == 3)
        assert "delete" in paths[job] and "post" in paths[f"{job}/cancel"], kind


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_cancel_then_delete_drops_the_job_and_its_studies(client: TestClient, settings: Settings, kind: str) -> None:
    path = f"/v1/{KINDS[kind].path}"
    job_id = _queue(client, kind)
    studies = _with_studies(client, settings.database_url, kind, job_id)
    cancelled = client.post(f"{path}/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == JobState.CANCELLED
    again = client.post(f"{path}/{job_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert client.delete(f"{path}/{job_id}").status_code == 204
    assert client.get(f"{path}/{job_id}").status_code == 404
    assert client.delete(f"{path}/{job_id}").status_code == 404
    assert client.post(f"{path}/{job_id}/cancel").status_code == 404
    left = set(optuna.get_all_study_names(open_storage(settings.database_url)))
    assert not left & set(studies)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_a_running_job_is_asked_to_stop_and_cannot_be_deleted(client: TestClient, settings: Settings,
                                                               kind: str) -> None:
    model, path = KINDS[kind].model, f"/v1/{KINDS[kind].path}"
    job_id = _queue(client, kind)
    while (claim := queue.claim(settings.database_url, model, driver_id="test", stale_after_s=3600)) is not None:
        if str(claim.id) == job_id:
            break
    assert client.post(f"{path}/{job_id}/cancel").json()["state"] == JobState.RUNNING  # stops at its next check
    refused = client.delete(f"{path}/{job_id}")
    assert refused.status_code == 409 and f"POST {path}/{job_id}/cancel" in refused.json()["detail"]
    assert queue.status(settings.database_url, model, claim.id, driver_id="test").cancel_requested
    assert queue.finish(settings.database_url, model, claim.id, driver_id="test", state=JobState.CANCELLED)
    assert client.delete(f"{path}/{job_id}").status_code == 204


def test_the_ui_reads_kinds_and_states_from_the_registry(client: TestClient) -> None:
    config = client.get("/ui/config.json").json()
    assert [k["name"] for k in config["kinds"]] == list(KINDS)
    assert [k["path"] for k in config["kinds"]] == [f"/v1/{k.path}" for k in KINDS.values()]
    assert config["job_states"] == [s.value for s in JobState]
    assert config["active_states"] == [JobState.QUEUED, JobState.RUNNING]
