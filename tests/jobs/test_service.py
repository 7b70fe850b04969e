"""The driver service (``python -m jobs``'s loop) with real Ray, both backends, stand-in evaluations:
runs queued searches, mirrors trials, honours cancel, hands jobs back when stopped, resumes stale ones."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import cloudpickle
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from jobs.service import Service
from store import queue
from store.db import get_engine, session_scope, utcnow
from store.models import Driver, Search
from store.settings import Settings
from tests.scaler import fake_grid_eval
from tests.workers import fake_eval

cloudpickle.register_pickle_by_value(fake_eval)
cloudpickle.register_pickle_by_value(fake_grid_eval)
pytestmark = pytest.mark.usefixtures("ray_session")
SEARCH = {"n_trials": 4, "n_workers": 2, "sampler": "random", "pruner": "none", "seed": 7,
          "training": {"epochs": 1}, "dataset": {"subset": 0.3}}
SLOW = functools.partial(fake_eval.fake_evaluate, sleep=0.8)


@contextmanager
def running(settings: Settings, evaluate: Callable = fake_eval.fake_evaluate, name: str = "svc",
            grid_evaluate: Callable = fake_grid_eval.fake_evaluate) -> Iterator[Service]:
    service = Service(settings, driver_id=f"{name}-{time.monotonic_ns()}",
                      evaluate_fns={"search": evaluate, "scaling-search": grid_evaluate})
    stop = threading.Event()
    thread = threading.Thread(target=service.serve, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not _registered(settings, service.driver_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield service
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive()


def _registered(settings: Settings, driver_id: str) -> bool:
    with session_scope(settings.database_url) as session:
        return session.get(Driver, driver_id) is not None


def wait_for(client: TestClient, search_id: str, done: Callable[[dict], bool], timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/v1/searches/{search_id}").json()
        if done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"timed out; last state {body['state']} {body['progress']}")


def _create(client: TestClient, **overrides) -> str:
    response = client.post("/v1/searches", json={**SEARCH, **overrides})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _trials(client: TestClient, search_id: str) -> list[dict]:
    return client.get(f"/v1/searches/{search_id}/trials", params={"limit": 100}).json()["data"]


def test_a_queued_search_runs_to_success_with_every_trial_mirrored(client: TestClient, settings: Settings) -> None:
    search_id = _create(client)
    with running(settings):
        assert client.get("/v1/healthz").json()["drivers"] >= 1
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"))
    assert body["state"] == "succeeded" and body["stopped"] == "budget" and body["attempts"] == 1
    assert body["progress"]["complete"] + body["progress"]["pruned"] == 4
    trials = _trials(client, search_id)
    assert [t["trial_number"] for t in trials] == list(range(len(trials)))
    assert all(t["spec"]["num_classes"] == 10 and t["spec"]["in_chans"] == 1 for t in trials)
    import ray

    nodes = {node["NodeID"] for node in ray.nodes()}
    assert all(t["details"]["node_id"] in nodes for t in trials if t["state"] != "FAIL")  # where each ran
    best = body["best"]
    assert best["accuracy"] == max(t["accuracy"] for t in trials if t["state"] == "COMPLETE")
    pareto = client.get(f"/v1/searches/{search_id}/pareto").json()["data"]
    assert best["id"] in {a["id"] for a in pareto}
    assert client.get(best["links"]["code"]).status_code == 200
    from workers.search import DEFAULT_BASELINES

    baselines = body["baselines"]  # the default baselines, trained and mirrored beside the trials
    assert [b["name"] for b in baselines] == list(DEFAULT_BASELINES)
    assert all(b["state"] == "COMPLETE" and b["dominated"] in (True, False) for b in baselines)
    assert all(b["architecture"]["origin"]["kind"] == "baseline" for b in baselines)
    front = {a["trial_number"] for a in pareto}
    assert all(b["dominated_by"] in front for b in baselines if b["dominated"])


def test_cancel_stops_a_running_search_and_keeps_its_trials(client: TestClient, settings: Settings) -> None:
    search_id = _create(client, n_trials=20)
    with running(settings, SLOW):
        wait_for(client, search_id, lambda b: b["progress"]["complete"] >= 2)
        assert client.post(f"/v1/searches/{search_id}/cancel").json()["state"] == "running"
        body = wait_for(client, search_id, lambda b: b["state"] != "running", timeout_s=30)
    assert body["state"] == "cancelled" and body["stopped"] == "cancelled"
    assert 2 <= body["progress"]["complete"] < 20
    assert client.delete(f"/v1/searches/{search_id}").status_code == 204


def test_a_stopped_driver_hands_its_search_back_and_the_next_one_resumes(client: TestClient,
                                                                         settings: Settings) -> None:
    search_id = _create(client, n_trials=6)
    with running(settings, SLOW, name="first"):
        wait_for(client, search_id, lambda b: b["progress"]["complete"] >= 2)
    body = client.get(f"/v1/searches/{search_id}").json()
    assert body["state"] == "queued"  # handed back, not cancelled
    before = {t["trial_number"]: t for t in _trials(client, search_id) if t["state"] == "COMPLETE"}
    assert len(before) >= 2
    with running(settings, name="second"):
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"))
    assert body["state"] == "succeeded" and body["attempts"] == 2
    after = {t["trial_number"]: t for t in _trials(client, search_id)}
    for number, trial in before.items():  # nothing completed was lost or re-evaluated
        assert after[number]["state"] == "COMPLETE" and after[number]["accuracy"] == trial["accuracy"]
        assert after[number]["id"] == trial["id"]
    assert body["progress"]["complete"] + body["progress"]["pruned"] == 6


def test_a_search_whose_driver_died_is_reclaimed_after_the_stale_timeout(client: TestClient,
                                                                         settings: Settings) -> None:
    search_id = _create(client)
    dead = queue.claim(settings.database_url, Search, driver_id="dead-driver", stale_after_s=3600)
    while str(dead.id) != search_id:  # skip anything older left by other tests
        dead = queue.claim(settings.database_url, Search, driver_id="dead-driver", stale_after_s=3600)
    with get_engine(settings.database_url).begin() as conn:
        conn.execute(update(Search).where(Search.id == dead.id)
                     .values(heartbeat_at=utcnow() - timedelta(seconds=10)))
    with running(settings):
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"))
    assert body["state"] == "succeeded" and body["attempts"] == 2


def test_a_scaling_search_job_ranks_its_candidates_and_stores_the_choice(client: TestClient,
                                                                         settings: Settings) -> None:
    created = client.post("/v1/scaling-searches", json={"base": {"zoo": "efficientnet_b0"}, "step": 0.1,
                                                        "max_candidates": 3, "dataset": {"subset": 0.3}})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    with running(settings):
        deadline = time.monotonic() + 90
        while (job := client.get(f"/v1/scaling-searches/{job_id}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["counts"]["complete"] == 3 and [c["rank"] for c in result["ranked"]] == [1, 2, 3]
    chosen = result["chosen"]
    assert chosen == result["ranked"][0] and abs(chosen["ratio"] - 2) <= 0.1 and abs(chosen["macs_ratio"] - 2) <= 0.1
    assert chosen["seeds"] == [0, 1, 2] and len(chosen["accuracies"]) == 3 and "accuracy_std" in chosen
    assert result["comparison"]["verdict"] in ("distinguishable", "not_distinguishable")
    assert result["comparison"]["winner"] == chosen["key"] and result["comparison"]["runner_up"] == result["ranked"][1]["key"]
    assert result["rejected"] == []  # step 0.1's first three points, each rounded to keep its ratio (issue 32)
    assert job["config"]["runs"] == 9
    arch = client.get(f"/v1/architectures/{result['chosen_architecture_id']}").json()
    assert arch["origin"]["kind"] == "scaling-search" and arch["origin"]["scaling_search_id"] == job_id
    assert (arch["origin"]["alpha"], arch["origin"]["beta"], arch["origin"]["gamma"]) == (
        chosen["alpha"], chosen["beta"], chosen["gamma"])
    assert arch["macs"] == chosen["macs"]


def test_a_running_scaling_search_is_cancelled_and_then_deleted_with_its_study(client: TestClient,
                                                                               settings: Settings) -> None:
    import optuna

    from jobs.kind import study_name
    from workers.runtime import open_storage

    created = client.post("/v1/scaling-searches", json={"base": {"zoo": "efficientnet_b0"}, "step": 0.1,
                                                        "max_candidates": 3, "workers": 1, "dataset": {"subset": 0.3}})
    job_id = created.json()["id"]
    slow = functools.partial(fake_grid_eval.fake_evaluate, sleep=1.0)
    with running(settings, grid_evaluate=slow):
        deadline = time.monotonic() + 60
        while not (client.get(f"/v1/scaling-searches/{job_id}").json()["result"] or {}).get("done"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert client.post(f"/v1/scaling-searches/{job_id}/cancel").json()["state"] == "running"
        deadline = time.monotonic() + 30
        while (job := client.get(f"/v1/scaling-searches/{job_id}").json())["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert job["state"] == "cancelled" and job["result"]["stopped"] == "cancelled"
    assert job["result"]["counts"]["complete"] < 3
    storage = open_storage(settings.database_url)
    study = study_name("scaling-search", uuid.UUID(job_id))
    kept = optuna.load_study(study_name=study, storage=storage).get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert 1 <= len(kept) < 9  # the runs finished before the cancel are kept
    assert client.delete(f"/v1/scaling-searches/{job_id}").status_code == 204
    assert study not in optuna.get_all_study_names(storage)
