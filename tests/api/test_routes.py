"""Route tests against a real database (a SQLite file and PostgreSQL): status codes, bodies, field errors."""

from __future__ import annotations

import ast
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.main import create_app
from searchspace import zoo
from store import crud, queue
from store.db import session_scope
from store.settings import Settings
from workers.search import TrialRecord

TINY = {"n_trials": 3, "n_workers": 1, "training": {"epochs": 1}, "dataset": {"subset": 0.3}}


def _field(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


def _create(client: TestClient, **overrides) -> dict:
    response = client.post("/v1/searches", json={**TINY, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def _add_trials(url: str, search_id: str, metrics: list[tuple[str, float | None, float | None]]) -> None:
    """Mirror trials into the search as the driver does: (state, accuracy, latency_ms), specs from the zoo."""
    spec_key = zoo.get("mobilenet_v3_small").to_string()
    with session_scope(url) as session:
        for number, (state, accuracy, latency) in enumerate(metrics):
            record = TrialRecord(number=number, state=state, accuracy=accuracy, latency_ms=latency, macs=1000 + number,
                                 params=10 + number, spec_key=spec_key, epoch_accuracies=[accuracy] if accuracy else [],
                                 error="boom" if state == "FAIL" else None)
            crud.record_trial(session, search_id=uuid.UUID(search_id), record=record)


def test_create_returns_the_queued_search_at_once(client: TestClient) -> None:
    response = client.post("/v1/searches", json={**TINY, "name": "first"})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/searches/{body['id']}"
    assert body["state"] == "queued" and body["name"] == "first" and body["best"] is None
    assert body["progress"] == {"budget": 3, "complete": 0, "pruned": 0, "failed": 0, "rejected": 0}
    assert body["config"]["n_trials"] == 3 and body["config"]["budget"]["epochs"] == 1
    assert body["config"]["max_params"] == 200_000_000  # the service cap becomes the search's rejection limit
    assert client.get(f"/v1/searches/{body['id']}").json()["id"] == body["id"]


def test_defaults_fill_an_empty_body(client: TestClient) -> None:
    body = client.post("/v1/searches", json={}).json()
    assert body["config"]["mode"] == "pareto" and body["config"]["dataset"]["source"] == "digits"


@pytest.mark.parametrize(("payload", "loc"), [
    ({"mode": "reward"}, ["body", "target"]),
    ({"mode": "bogus"}, ["body", "mode"]),
    ({"n_trials": 0}, ["body", "n_trials"]),
    ({"n_trials": 51}, ["body", "n_trials"]),  # above the service's cap
    ({"n_workers": 10**6}, ["body", "n_workers"]),
    ({"training": {"epochs": 0}}, ["body", "training", "epochs"]),
    ({"training": {"lr": -1}}, ["body", "training", "lr"]),
    ({"latency": {"threads": 0}}, ["body", "latency", "threads"]),
    ({"space": {"kernels": [4]}}, ["body", "space", "kernels", 0]),
    ({"space": {"kinds": ["conv"]}}, ["body", "space", "kinds", 0]),
    ({"space": {"resolutions": [4096]}}, ["body", "space", "resolutions", 0]),
    ({"space": {"skeleton": "resnet"}}, ["body", "space", "skeleton"]),
    ({"dataset": {"source": "/etc"}}, ["body", "dataset", "source"]),
    ({"dataset": {"subset": 2.0}}, ["body", "dataset", "subset"]),
    ({"seed": -1}, ["body", "seed"]),
    ({"timeout_s": 0.1}, ["body", "timeout_s"]),
    ({"unknown": 1}, ["body", "unknown"]),
    ({"n_trials": "many"}, ["body", "n_trials"]),
    ({"n_trials": True}, ["body", "n_trials"]),  # a boolean is not an integer
    ({"n_trials": 2.5}, ["body", "n_trials"]),
    ({"training": {"epochs": True}}, ["body", "training", "epochs"]),
    ({"training": {"lr": False}}, ["body", "training", "lr"]),
    ({"training": {"optimizer": "lion"}}, ["body", "training", "optimizer"]),
    ({"training": {"bn_calibration": -1}}, ["body", "training", "bn_calibration"]),
    ({"latency": {"device": "tpu"}}, ["body", "latency", "device"]),
    ({"pruner_min_trials": 0}, ["body", "pruner_min_trials"]),
    ({"rung_eta": 1}, ["body", "rung_eta"]),
    ({"pruner": "hyperband"}, ["body", "pruner"]),
    ({"cpu_budget_s": 0.5}, ["body", "cpu_budget_s"]),
    ({"dataset": {"max_gib": 0}}, ["body", "dataset", "max_gib"]),
    ({"space": {"kernels": []}}, ["body", "space", "kernels"]),
    ({"space": {"stem_stride": 3}}, ["body", "space", "stem_stride"]),
])
def test_bad_search_input_is_422_naming_the_field(client: TestClient, payload: dict, loc: list) -> None:
    assert _field(client.post("/v1/searches", json={**TINY, **payload})) == loc


@pytest.mark.parametrize(("path", "body", "loc"), [
    ("/v1/searches", '{"mode": "reward", "target": NaN}', ["body", "target"]),
    ("/v1/searches", '{"training": {"lr": Infinity}}', ["body", "training", "lr"]),
    ("/v1/searches", '{"space": {"expansions": [-Infinity]}}', ["body", "space", "expansions", 0]),
    ("/v1/searches", '{"unknown": NaN}', ["body", "unknown"]),
    ("/v1/scalings", '{"base": {"zoo": "efficientnet_b0"}, "alpha": NaN}', ["body", "alpha"]),
    ("/v1/scaling-searches", '{"base": {"zoo": "efficientnet_b0"}, "step": Infinity}', ["body", "step"]),
])
def test_non_finite_numbers_are_422_naming_the_field(client: TestClient, path: str, body: str, loc: list) -> None:
    assert _field(client.post(path, content=body.encode(), headers={"content-type": "application/json"})) == loc


def test_every_config_field_is_settable(client: TestClient) -> None:
    body = _create(client, pruner_warmup_epochs=2, pruner_min_trials=5, reward="hard", mode="reward", target=5.0,
                   training={"epochs": 1, "eval_batch_size": 128, "bn_calibration": 0, "optimizer": "adamw"},
                   latency={"device": "cuda:0", "threads": 2}, dataset={"subset": 0.3, "max_gib": 1.5},
                   space={"stem_stride": 2})
    config = body["config"]
    assert config["pruner_warmup_epochs"] == 2 and config["pruner_min_trials"] == 5 and config["reward"] == "hard"
    assert {k: config["budget"][k] for k in ("eval_batch_size", "bn_calibration", "optimizer")} == {
        "eval_batch_size": 128, "bn_calibration": 0, "optimizer": "adamw"}
    assert config["latency"]["device"] == "cuda:0" and config["dataset"]["max_gib"] == 1.5
    assert config["space"]["stem_stride"] == 2


def test_built_in_shapes_needs_no_data_root(client: TestClient) -> None:
    assert _create(client, dataset={"source": "shapes"})["config"]["dataset"]["source"] == "shapes"


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post("/v1/searches", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_data_root_confines_dataset_directories(settings: Settings, tmp_path) -> None:
    root = tmp_path / "data"
    (root / "empty").mkdir(parents=True)
    with TestClient(create_app(Settings(database_url=settings.database_url, data_root=root))) as c:
        outside = c.post("/v1/searches", json={**TINY, "dataset": {"source": "../"}})
        assert _field(outside) == ["body", "dataset", "source"] and "data root" in outside.text
        missing = c.post("/v1/searches", json={**TINY, "dataset": {"source": "nothing-here"}})
        assert _field(missing) == ["body", "dataset", "source"]
        empty = c.post("/v1/searches", json={**TINY, "dataset": {"source": "empty"}})
        assert _field(empty) == ["body", "dataset", "source"] and "empty" in empty.json()["detail"][0]["msg"]


def test_list_pages_newest_first(client: TestClient) -> None:
    ids = [_create(client, name=f"page-{i}")["id"] for i in range(3)]
    page = client.get("/v1/searches", params={"limit": 2}).json()
    assert page["count"] >= 3 and len(page["data"]) == 2
    assert [s["id"] for s in page["data"]] == ids[::-1][:2]
    second = client.get("/v1/searches", params={"limit": 2, "skip": 2}).json()
    assert second["data"][0]["id"] == ids[0]
    assert all(s["state"] == "queued" for s in client.get("/v1/searches", params={"state": "queued"}).json()["data"])
    assert client.get("/v1/searches", params={"limit": 1000}).status_code == 422
    assert client.get("/v1/searches", params={"state": "nope"}).status_code == 422


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    missing = uuid.uuid4()
    for path in (f"/v1/searches/{missing}", f"/v1/searches/{missing}/trials", f"/v1/searches/{missing}/pareto",
                 f"/v1/architectures/{missing}", f"/v1/architectures/{missing}/code",
                 f"/v1/scaling-searches/{missing}"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/v1/searches/{missing}/cancel").status_code == 404
    assert client.delete(f"/v1/searches/{missing}").status_code == 404
    assert client.get("/v1/searches/not-a-uuid").status_code == 422


def test_trials_pareto_and_best_from_mirrored_trials(client: TestClient, settings: Settings) -> None:
    search = _create(client)
    _add_trials(settings.database_url, search["id"], [
        ("COMPLETE", 0.80, 5.0), ("COMPLETE", 0.90, 9.0), ("COMPLETE", 0.70, 7.0),  # 2 is dominated by 0
        ("PRUNED", 0.10, None), ("FAIL", None, None), ("COMPLETE", 0.90, 12.0),  # 5 is dominated by 1
    ])
    body = client.get(f"/v1/searches/{search['id']}").json()
    assert body["progress"] == {"budget": 3, "complete": 4, "pruned": 1, "failed": 1, "rejected": 0}
    assert body["best"]["trial_number"] == 1 and body["best"]["accuracy"] == 0.9

    pareto = client.get(f"/v1/searches/{search['id']}/pareto").json()
    assert [a["trial_number"] for a in pareto["data"]] == [0, 1] and pareto["count"] == 2

    trials = client.get(f"/v1/searches/{search['id']}/trials", params={"sort": "accuracy", "order": "desc"}).json()
    assert trials["count"] == 6
    assert [t["trial_number"] for t in trials["data"]] == [1, 5, 0, 2, 3, 4]  # missing accuracy last
    failed = client.get(f"/v1/searches/{search['id']}/trials", params={"state": "FAIL"}).json()
    assert [t["error"] for t in failed["data"]] == ["boom"]
    page = client.get(f"/v1/searches/{search['id']}/trials", params={"limit": 2, "skip": 1}).json()
    assert [t["trial_number"] for t in page["data"]] == [1, 2]
    assert client.get(f"/v1/searches/{search['id']}/trials", params={"sort": "evil;drop"}).status_code == 422

    arch = client.get(pareto["data"][0]["links"]["self"]).json()
    assert arch["origin"] == {"kind": "search", "search_id": search["id"], "trial": 0}
    assert arch["spec"]["name"] == "mobilenet_v3_small" and arch["details"]["epoch_accuracies"] == [0.8]


def test_baselines_beside_the_front_and_apart_from_the_trials(client: TestClient, settings: Settings) -> None:
    from workers.search import BaselineRecord

    names = ["ghostnet_1_0", "mobilenet_v3_small", "micronet_m1"]
    search = _create(client, baselines=names)
    assert search["config"]["baselines"] == names and search["baselines"] == []
    _add_trials(settings.database_url, search["id"], [("COMPLETE", 0.80, 5.0), ("COMPLETE", 0.90, 9.0)])
    spec_key = zoo.get("mobilenet_v3_small").to_string()
    with session_scope(settings.database_url) as session:
        for record in (
            BaselineRecord(name="mobilenet_v3_small", state="COMPLETE", accuracy=0.95, latency_ms=20.0, macs=50,
                           params=5, width=1.0, changes=["stem stride 2 -> 1"], spec_key=spec_key),
            BaselineRecord(name="ghostnet_1_0", state="COMPLETE", accuracy=0.75, latency_ms=6.0, macs=40, params=4,
                           width=0.8, spec_key=spec_key),  # trial 0 is more accurate and faster
            BaselineRecord(name="micronet_m1", state="RUNNING", spec_key=spec_key),
        ):
            crud.record_baseline(session, search_id=uuid.UUID(search["id"]), record=record)
    body = client.get(f"/v1/searches/{search['id']}").json()
    got = [(b["name"], b["state"], b["dominated"], b["dominated_by"]) for b in body["baselines"]]
    assert got == [("ghostnet_1_0", "COMPLETE", True, 0), ("mobilenet_v3_small", "COMPLETE", False, None),
                   ("micronet_m1", "RUNNING", None, None)]
    assert body["baselines"][1]["changes"] == ["stem stride 2 -> 1"] and body["baselines"][0]["width"] == 0.8
    arch = body["baselines"][0]["architecture"]
    assert arch["origin"]["kind"] == "baseline" and arch["trial_number"] is None and arch["accuracy"] == 0.75
    assert client.get(arch["links"]["self"]).json()["name"] == "ghostnet_1_0"
    listed = client.get(f"/v1/searches/{search['id']}/baselines").json()
    assert listed["count"] == 3 and [b["name"] for b in listed["data"]] == names
    # the trials, their progress and their front do not include the baselines
    assert body["progress"]["complete"] == 2 and body["best"]["trial_number"] == 1
    assert client.get(f"/v1/searches/{search['id']}/trials").json()["count"] == 2
    assert [a["trial_number"] for a in client.get(f"/v1/searches/{search['id']}/pareto").json()["data"]] == [0, 1]
    assert all(s["baselines"] is None for s in client.get("/v1/searches").json()["data"])


def test_baselines_must_be_zoo_networks(client: TestClient) -> None:
    response = client.post("/v1/searches", json={**TINY, "baselines": ["resnet50"]})
    assert _field(response) == ["body", "baselines"]
    assert "allowed: efficientnet_b0" in response.json()["detail"][0]["msg"]
    assert _create(client, baselines=[])["config"]["baselines"] == []


def test_asha_trials_say_at_which_fidelity_they_stopped(client: TestClient, settings: Settings) -> None:
    search = _create(client, pruner="asha", rung_min_epochs=2, rung_eta=2, cpu_budget_s=600.0, objective="macs",
                     training={"epochs": 3})
    assert {k: search["config"][k] for k in ("pruner", "rung_min_epochs", "rung_eta", "cpu_budget_s")} == {
        "pruner": "asha", "rung_min_epochs": 2, "rung_eta": 2, "cpu_budget_s": 600.0}
    spec_key = zoo.get("mobilenet_v3_small").to_string()
    with session_scope(settings.database_url) as session:
        for number, (state, curve, rung) in enumerate([("COMPLETE", [0.5, 0.6, 0.7], 1), ("PRUNED", [0.3], 0)]):
            record = TrialRecord(number=number, state=state, accuracy=curve[-1], macs=1000, params=10,
                                 spec_key=spec_key, epoch_accuracies=curve, fidelity=len(curve), rung=rung,
                                 cpu_seconds=2.5 * len(curve), stopped=None if rung else "callback")
            crud.record_trial(session, search_id=uuid.UUID(search["id"]), record=record)
    trials = client.get(f"/v1/searches/{search['id']}/trials").json()["data"]
    assert [(t["state"], t["details"]["fidelity"], t["details"]["rung"]) for t in trials] == [
        ("COMPLETE", 3, 1), ("PRUNED", 1, 0)]
    assert trials[1]["details"]["cpu_seconds"] == 2.5 and trials[1]["details"]["stopped"] == "callback"
    pareto = client.get(f"/v1/searches/{search['id']}/pareto").json()["data"]
    assert [(a["trial_number"], a["details"]["fidelity"]) for a in pareto] == [(0, 3)]  # full fidelity only


def test_cancel_then_delete(client: TestClient, settings: Settings) -> None:
    search = _create(client)
    cancelled = client.post(f"/v1/searches/{search['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"/v1/searches/{search['id']}/cancel").status_code == 409
    _add_trials(settings.database_url, search["id"], [("COMPLETE", 0.5, 1.0)])
    arch_id = client.get(f"/v1/searches/{search['id']}/trials").json()["data"][0]["id"]
    assert client.delete(f"/v1/searches/{search['id']}").status_code == 204
    assert client.get(f"/v1/searches/{search['id']}").status_code == 404
    assert client.get(f"/v1/architectures/{arch_id}").status_code == 404  # the trials went with it


def test_running_search_cancel_is_a_request_and_delete_conflicts(client: TestClient, settings: Settings) -> None:
    from store import queue
    from store.models import Search

    search = _create(client)
    while (claim := queue.claim(settings.database_url, Search, driver_id="test", stale_after_s=3600)) is not None:
        if str(claim.id) == search["id"]:
            break
    body = client.post(f"/v1/searches/{search['id']}/cancel").json()
    assert body["state"] == "running"  # the driver stops it at its next check
    assert client.delete(f"/v1/searches/{search['id']}").status_code == 409
    assert queue.status(settings.database_url, Search, claim.id, driver_id="test").cancel_requested


def test_code_download_is_a_standalone_module(client: TestClient) -> None:
    created = client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0}).json()
    arch = created["data"][0]
    response = client.get(arch["links"]["code"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/x-python")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="mobilenet_v3_small_{uuid.UUID(arch["id"]).hex[:8]}.py"'
    tree = ast.parse(response.text)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "torch" in imported and not imported & {"searchspace", "workers", "api", "scaler"}
    assert "def build_model" in response.text and "INPUT_SIZE = (3, 224, 224)" in response.text


def test_onnx_download(client: TestClient) -> None:
    import onnx

    arch = client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0}).json()["data"][0]
    response = client.get(arch["links"]["onnx"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].endswith('.onnx"')
    model = onnx.load_from_string(response.content)
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3


def test_scalings_derive_phi_range_and_store_each_network(client: TestClient) -> None:
    response = client.post("/v1/scalings", json={"base": {"zoo": "efficientnet_b0"},
                                                 "phi_range": {"start": 0, "stop": 2}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 3 and body["base"]["zoo"] == "efficientnet_b0"
    assert body["base"]["params"] == zoo.published()["efficientnet_b0"]["reference_params"]
    phi0, phi1, phi2 = body["data"]
    assert phi0["params"] == body["base"]["params"] and phi0["spec"]["resolution"] == 224
    assert phi1["origin"]["alpha"] == 1.2 and phi1["origin"]["phi"] == 1 and phi1["spec"]["resolution"] == 256
    assert phi0["macs"] < phi1["macs"] < phi2["macs"]
    assert 1.5 < phi1["origin"]["macs_ratio"] < 2.5
    stored = client.get(phi2["links"]["self"]).json()
    assert stored["spec"] == phi2["spec"] and stored["origin"]["kind"] == "scaling"

    # scaling a stored architecture, and a spec given inline
    again = client.post("/v1/scalings", json={"base": {"architecture_id": phi1["id"]}, "phi": 1}).json()
    assert again["base"]["architecture_id"] == phi1["id"] and again["data"][0]["macs"] > phi1["macs"]
    inline = client.post("/v1/scalings", json={"base": {"spec": phi0["spec"]}, "official": True, "phi": 3}).json()
    assert inline["data"][0]["params"] == zoo.published()["efficientnet_b3"]["reference_params"]


@pytest.mark.parametrize(("payload", "loc"), [
    ({"base": {}}, ["body", "base"]),
    ({"base": {"zoo": "efficientnet_b0", "spec": {}}}, ["body", "base"]),
    ({"base": {"zoo": "no_such_net"}}, ["body", "base", "zoo"]),
    ({"base": {"spec": {**zoo.get("mobilenet_v2").to_dict(), "stages": "x"}}}, ["body", "base", "spec", "stages"]),
    ({"base": {"zoo": "efficientnet_b0"}, "alpha": 0.9}, ["body", "alpha"]),
    ({"base": {"zoo": "efficientnet_b0"}, "gamma": 5}, ["body", "gamma"]),
    ({"base": {"zoo": "efficientnet_b0"}, "phi": -1}, ["body", "phi"]),
    ({"base": {"zoo": "efficientnet_b0"}, "phi": 13}, ["body", "phi"]),
    ({"base": {"zoo": "efficientnet_b0"}, "phi": 1.5, "official": True}, ["body", "phi"]),
    ({"base": {"zoo": "efficientnet_b0"}, "phi": 10}, ["body", "phi"]),  # above the MACs cap
    ({"base": {"zoo": "efficientnet_b0"}, "phi_range": {"start": 0, "stop": 20}}, ["body", "phi_range"]),
    ({"base": {"zoo": "efficientnet_b0"}, "phi_range": {"step": 0}}, ["body", "phi_range", "step"]),
    ({"base": {"zoo": "efficientnet_b0"}, "phi": 1, "phi_range": {}}, ["body"]),
])
def test_bad_scaling_input_is_422_naming_the_field(client: TestClient, payload: dict, loc: list) -> None:
    assert _field(client.post("/v1/scalings", json=payload)) == loc


def test_scaling_a_missing_architecture_is_404(client: TestClient) -> None:
    response = client.post("/v1/scalings", json={"base": {"architecture_id": str(uuid.uuid4())}})
    assert response.status_code == 404


def test_scaling_search_is_queued_with_its_config(client: TestClient) -> None:
    response = client.post("/v1/scaling-searches", json={"base": {"zoo": "efficientnet_b0"}, "step": 0.1,
                                                         "max_candidates": 2, "training": {"epochs": 1}})
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["state"] == "queued" and job["result"] is None and job["config"]["candidates"] == 2
    # step 0.1: the first two points, (2, 1, 1) and (1.4, 1, 1.2), both kept (their phi = 1 networks are rounded
    # to keep the formula's MACs ratio, issue 32)
    assert job["config"]["rejected"] == 0 and job["config"]["runs"] == 2 * 3 and job["config"]["grid"]["seeds"] == 3
    assert job["config"]["grid"]["counted_tolerance"] == 0.1 and job["config"]["grid"]["significance"] == 0.05
    assert job["config"]["base"]["name"] == "efficientnet_b0" and job["config"]["base_ref"] == {"zoo": "efficientnet_b0"}
    assert job["config"]["grid"]["step"] == 0.1 and job["config"]["grid"]["resolution"] == 32
    assert job["config"]["grid"]["latency"]["repeats"] == 20 and job["config"]["grid"]["budget"]["epochs"] == 1
    assert client.get(f"/v1/scaling-searches/{job['id']}").json()["id"] == job["id"]

    response = client.post("/v1/scaling-searches", json={"base": {"zoo": "efficientnet_b0"}, "max_candidates": 2,
                                                         "latency": None, "threads": 2, "retry_failed": True,
                                                         "resolution": None})
    grid = response.json()["config"]["grid"]
    assert grid["latency"] is None and grid["threads"] == 2 and grid["retry_failed"] and grid["resolution"] is None

    listed = client.get("/v1/scaling-searches", params={"state": "queued", "limit": 1}).json()
    assert listed["count"] >= 2 and [j["id"] for j in listed["data"]] == [response.json()["id"]]  # newest first
    assert client.get("/v1/scaling-searches", params={"state": "succeeded"}).json() == {"data": [], "count": 0}


@pytest.mark.parametrize(("payload", "loc"), [
    ({"step": 0}, ["body", "step"]),
    ({"tolerance": -0.1}, ["body", "tolerance"]),
    ({"step": 0.01}, ["body", "max_candidates"]),  # thousands of candidates, above the service's cap
    ({"max_candidates": 0}, ["body", "max_candidates"]),
    ({"resolution": 4}, ["body", "resolution"]),
    ({"workers": 10**6}, ["body", "workers"]),
    ({"training": {"epochs": 1000}}, ["body", "training", "epochs"]),
    ({"proxy_width": 0}, ["body", "proxy_width"]),
    ({"max_candidates": True}, ["body", "max_candidates"]),
    ({"retry_failed": 1}, ["body", "retry_failed"]),
    ({"threads": 0}, ["body", "threads"]),
    ({"seeds": 0}, ["body", "seeds"]),
    ({"seeds": 30}, ["body", "seeds"]),  # 2 candidates x 30 seeds: above the service's cap on trials
    ({"counted_tolerance": 0.0, "step": 0.5, "tolerance": 0.0}, ["body", "counted_tolerance"]),
    ({"significance": 0.9}, ["body", "significance"]),
    ({"latency": {"repeats": 0}}, ["body", "latency", "repeats"]),
    ({"base": {"zoo": "nope"}}, ["body", "base", "zoo"]),
])
def test_bad_scaling_search_input_is_422_naming_the_field(client: TestClient, payload: dict, loc: list) -> None:
    body = {"base": {"zoo": "efficientnet_b0"}, "max_candidates": 2, **payload}
    if payload.get("step") == 0.01:
        body.pop("max_candidates")
    assert _field(client.post("/v1/scaling-searches", json=body)) == loc


def test_zoo_and_health(client: TestClient, settings: Settings) -> None:
    rows = client.get("/v1/zoo").json()
    assert rows["count"] == len(zoo.names()) and rows["data"][0]["name"] == zoo.names()[0]
    health = client.get("/v1/healthz").json()
    assert health["database"] == settings.backend and health["queued"] >= 1 and health["embedded_driver"] is None


def test_queued_jobs_without_a_live_driver_are_degraded_and_not_ready(client: TestClient, settings: Settings) -> None:
    assert client.post("/v1/searches", json=TINY).status_code == 201
    health, ready = client.get("/v1/healthz"), client.get("/v1/readyz")
    assert health.status_code == 200 and health.json()["status"] == "degraded" and health.json()["drivers"] == 0
    assert ready.status_code == 503 and ready.json()["status"] == "degraded" and ready.headers["retry-after"]
    driver_id = f"probe-{uuid.uuid4().hex[:8]}"
    queue.heartbeat(settings.database_url, driver_id=driver_id, host="test", pid=1)
    try:
        assert client.get("/v1/healthz").json()["status"] == "ok"
        assert client.get("/v1/readyz").status_code == 200
    finally:
        queue.unregister(settings.database_url, driver_id=driver_id)


def test_body_size_cap(client: TestClient) -> None:
    big = b'{"name": "' + b"x" * 70_000 + b'"}'
    assert client.post("/v1/searches", content=big, headers={"content-type": "application/json"}).status_code == 413


def test_api_key_guards_every_mutating_endpoint(settings: Settings) -> None:
    with TestClient(create_app(Settings(database_url=settings.database_url, api_key="s3cret"))) as c:
        mutating = [("post", "/v1/searches", TINY), ("post", f"/v1/searches/{uuid.uuid4()}/cancel", None),
                    ("delete", f"/v1/searches/{uuid.uuid4()}", None),
                    ("post", "/v1/scalings", {"base": {"zoo": "efficientnet_b0"}}),
                    ("post", "/v1/scaling-searches", {"base": {"zoo": "efficientnet_b0"}}),
                    ("post", f"/v1/scaling-searches/{uuid.uuid4()}/cancel", None),
                    ("delete", f"/v1/scaling-searches/{uuid.uuid4()}", None)]
        for method, path, body in mutating:
            kwargs = {"json": body} if body is not None else {}
            assert c.request(method, path, **kwargs).status_code == 401, path
            assert c.request(method, path, headers={"X-API-Key": "wrong"}, **kwargs).status_code == 401, path
            assert c.request(method, path, headers={"X-API-Key": "s3cret"}, **kwargs).status_code != 401, path
        assert c.post("/v1/searches", headers={"X-API-Key": "s3crët".encode()}, json=TINY).status_code == 401
        assert c.get("/v1/searches").status_code == 200  # reads stay open
        assert c.get("/v1/healthz").status_code == 200


def _every_get(app) -> list[str]:
    """Every GET path of the OpenAPI document, its ids filled with fresh UUIDs."""
    return [re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path) for path, ops in app.openapi()["paths"].items()
            if "get" in ops]


def test_the_read_key_guards_every_read_and_the_write_key_reads_too(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"api_key": SecretStr("s3cret"),
                                                           "read_key": SecretStr("r3ad")}))) as c:
        reads = _every_get(c.app)
        assert len(reads) >= 12
        for path in reads:
            if path in ("/v1/healthz", "/v1/readyz"):  # the probes stay open
                assert c.get(path).status_code != 401, path
                continue
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": "wrong"}).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": "r3ad"}).status_code != 401, path
            assert c.get(path, headers={"X-API-Key": "s3cret"}).status_code != 401, path
        assert c.post("/v1/searches", json=TINY, headers={"X-API-Key": "r3ad"}).status_code == 401  # reads only
        assert c.post("/v1/searches", json=TINY, headers={"X-API-Key": "s3cret"}).status_code == 201
        for path in ("/", "/ui/app.js", "/openapi.json"):  # the same for every installation: no data
            assert c.get(path).status_code == 200, path
        assert c.get("/ui/config.json").json().items() >= {"api_key_required": True, "read_key_required": True}.items()
        doc = c.app.openapi()["paths"]
        assert doc["/v1/searches"]["get"]["security"] and "security" not in doc["/v1/healthz"]["get"]


def test_a_read_key_alone_is_one_key_for_everything(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"read_key": SecretStr("one")}))) as c:
        assert c.get("/v1/searches").status_code == 401 and c.post("/v1/searches", json=TINY).status_code == 401
        assert c.get("/v1/searches", headers={"X-API-Key": "one"}).status_code == 200
        assert c.post("/v1/searches", json=TINY, headers={"X-API-Key": "one"}).status_code == 201
        assert c.get("/ui/config.json").json().items() >= {"api_key_required": True, "read_key_required": True}.items()


def test_concurrent_search_cap_is_429(settings: Settings, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cap.db'}"
    with TestClient(create_app(Settings(database_url=url, max_concurrent_searches=2))) as c:
        assert [c.post("/v1/searches", json=TINY).status_code for _ in range(3)] == [201, 201, 429]
        refused = c.post("/v1/searches", json=TINY)
        assert refused.json()["limit"] == "max_concurrent_searches" and refused.headers["retry-after"]
