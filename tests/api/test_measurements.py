"""/v1/architectures/{id}/measurements against a real database: ``python -m workers measure --architecture`` times a
stored architecture (its spec in eager, the service's ONNX download in int8) and stores the figure; the
architecture's response carries it beside the latency it holds, with their ratio; bad measurements are 422 naming
the field and its range; a deleted search takes its architectures' measurements with it."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from searchspace.errors import SpecError
from store import crud
from store.db import session_scope
from store.settings import Settings
from tests.workers import tiny_spec
from workers.latency import PlainLoop, measure_stored
from workers.search import TrialRecord

FAST = {"warmup": 2, "rounds": 3, "runs": 4}
PREDICTED = 2.0  # ms: the latency the trial holds, as a search predicted it
SOURCE = "predicted from device profile test-board (eager, 1 thread)"


@pytest.fixture(scope="module")
def trial(client: TestClient, settings: Settings) -> tuple[str, str]:
    """A search's trial of the tiny network holding a predicted latency: (search id, architecture id)."""
    search = client.post("/v1/searches", json={"n_trials": 2, "training": {"epochs": 1}, "dataset": {"subset": 0.2}})
    assert search.status_code == 201, search.text
    search_id = search.json()["id"]
    record = TrialRecord(number=0, state="COMPLETE", accuracy=0.5, latency_ms=PREDICTED, latency_source=SOURCE,
                         macs=1000, params=10, spec_key=tiny_spec().to_string())
    with session_scope(settings.database_url) as session:
        row = crud.record_trial(session, search_id=uuid.UUID(search_id), record=record)
        return search_id, str(row.id)


@pytest.mark.parametrize("runtime", ["eager", "int8"])
def test_measure_a_stored_architecture_and_read_it_beside_the_prediction(client: TestClient, trial: tuple[str, str],
                                                                          runtime: str) -> None:
    _, arch_id = trial
    figure, out = measure_stored(client, arch_id, PlainLoop(runtime=runtime, **FAST), source="the test")
    assert figure.device.runtime == runtime and out["architecture_latency_ms"] == PREDICTED
    assert out["latency_source"] == SOURCE and out["ratio"] == pytest.approx(PREDICTED / figure.median_ms)
    stored = out["stored"]
    assert stored["latency_ms"] == figure.median_ms and stored["runtime"] == runtime and stored["threads"] == 1
    assert stored["spread"] == pytest.approx(figure.spread) and stored["source"] == "the test"
    assert stored["ratio"] == pytest.approx(PREDICTED / figure.median_ms)
    assert stored["device"]["cpu"] == figure.device.cpu and "rounds of 4 runs" in stored["loop"]

    arch = client.get(f"/v1/architectures/{arch_id}").json()
    assert arch["latency_ms"] == PREDICTED and arch["latency_source"] == SOURCE
    assert arch["measurements"][0]["id"] == stored["id"]  # the newest first
    assert arch["measurement_count"] == len(arch["measurements"]) >= 1
    listed = client.get(f"/v1/architectures/{arch_id}/measurements", params={"limit": 1}).json()
    assert listed["count"] == arch["measurement_count"] and [m["id"] for m in listed["data"]] == [stored["id"]]


def test_the_measure_command_prints_the_comparison_and_stores_it(client: TestClient, trial: tuple[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import contextlib
    import json

    from workers import cli
    from workers.latency import measure_cli

    given: list[tuple[str, str | None]] = []
    monkeypatch.setattr(measure_cli, "client_for", lambda url, key: given.append((url, key)) or
                        contextlib.nullcontext(client))  # the real service, in process
    monkeypatch.setenv("NAS_API_KEY", "from-env")
    argv = ["measure", "--architecture", trial[1], "--service", "http://service:8000", "--warmup", "1", "--rounds",
            "2", "--runs", "2"]
    count = client.get(f"/v1/architectures/{trial[1]}").json()["measurement_count"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert " ms  (eager " in lines[0] and lines[1].startswith("device: ")
    assert lines[2].startswith(f"the service holds {PREDICTED:.3f} ms for it ({SOURCE}): ") and "x this figure" in lines[2]
    assert lines[3].startswith("stored as measurement ") and given == [("http://service:8000", "from-env")]
    assert cli.main([*argv, "--no-store", "--json", "--api-key", "k"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stored"] is None and out["ratio"] == pytest.approx(PREDICTED / out["latency_ms"])
    assert given[-1][1] == "k"
    assert client.get(f"/v1/architectures/{trial[1]}").json()["measurement_count"] == count + 1  # one stored


def test_a_measurement_posted_by_hand_and_one_of_a_network_without_latency(client: TestClient) -> None:
    scaled = client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0}).json()["data"][0]
    body = {"latency_ms": 12.5, "min_round_ms": 12.0, "max_round_ms": 14.0, "source": "TFLite benchmark_model",
            "measured_at": "2026-12-01T10:00:00+01:00", "device": {"name": "rpi4", "cpu": "Cortex-A72",
                                                                    "runtime": "onnxruntime", "threads": 4}}
    response = client.post(f"/v1/architectures/{scaled['id']}/measurements", json=body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["ratio"] is None  # a scaled network holds no latency of its own
    assert stored["measured_at"].startswith("2026-12-01T09:00:00") and stored["threads"] == 4
    assert stored["spread"] == pytest.approx(14.0 / 12.0 - 1) and stored["device"]["name"] == "rpi4"
    arch = client.get(f"/v1/architectures/{scaled['id']}").json()
    assert arch["latency_source"] is None and [m["id"] for m in arch["measurements"]] == [stored["id"]]


@pytest.mark.parametrize(("body", "loc", "message"), [
    ({"latency_ms": -1.0}, ["body", "latency_ms"], "must be in [0, 3600000"),
    ({"latency_ms": 0}, ["body", "latency_ms"], "(0, 3.6e+06] ms"),
    ({"latency_ms": 2.0, "min_round_ms": 3.0}, ["body", "min_round_ms"], "at most latency_ms"),
    ({"latency_ms": 2.0, "device": {"runtime": "tflite"}}, ["body", "device", "runtime"], "eager, onnxruntime, int8"),
    ({"latency_ms": 2.0, "device": {"threads": 0}}, ["body", "device", "threads"], "[1, 65536]"),
    ({"latency_ms": 2.0, "measured_at": "soon"}, ["body", "measured_at"], "ISO 8601"),
    ({"latency_ms": "2"}, ["body", "latency_ms"], ""),
    ({"latency_ms": 2.0, "runtime": "eager"}, ["body", "runtime"], ""),  # the runtime is the device's
    ({}, ["body", "latency_ms"], ""),
])
def test_a_bad_measurement_is_422_naming_the_field(client: TestClient, trial: tuple[str, str], body: dict,
                                                    loc: list, message: str) -> None:
    response = client.post(f"/v1/architectures/{trial[1]}/measurements", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == loc and message in detail["msg"]


def test_unknown_architectures_and_the_write_key(client: TestClient, settings: Settings) -> None:
    from api.main import create_app

    missing = "00000000-0000-0000-0000-000000000000"
    assert client.post(f"/v1/architectures/{missing}/measurements", json={"latency_ms": 1.0}).status_code == 404
    assert client.get(f"/v1/architectures/{missing}/measurements").status_code == 404
    with pytest.raises(SpecError, match="no architecture"):
        measure_stored(client, missing, PlainLoop(**FAST))
    locked = settings.model_copy(update={"api_key": SecretStr("s3cret")})
    with TestClient(create_app(locked)) as other:
        arch = other.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0},
                          headers={"X-API-Key": "s3cret"}).json()["data"][0]
        with pytest.raises(SpecError) as err:
            measure_stored(other, arch["id"], PlainLoop(**FAST))
        assert err.value.field == "--api-key"
        other.headers["X-API-Key"] = "s3cret"
        assert measure_stored(other, arch["id"], PlainLoop(**FAST))[1]["stored"]["ratio"] is None


def test_deleting_a_search_deletes_its_architectures_measurements(client: TestClient, settings: Settings) -> None:
    from sqlalchemy import func, select

    from store.models import MeasurementRow

    search_id = client.post("/v1/searches", json={"n_trials": 2}).json()["id"]
    record = TrialRecord(number=0, state="COMPLETE", accuracy=0.5, latency_ms=1.0, spec_key=tiny_spec().to_string())
    with session_scope(settings.database_url) as session:
        arch_id = crud.record_trial(session, search_id=uuid.UUID(search_id), record=record).id
    assert client.post(f"/v1/architectures/{arch_id}/measurements", json={"latency_ms": 1.1}).status_code == 201
    assert client.post(f"/v1/searches/{search_id}/cancel").status_code == 200
    assert client.delete(f"/v1/searches/{search_id}").status_code == 204
    with session_scope(settings.database_url) as session:
        left = session.scalar(select(func.count()).select_from(MeasurementRow)
                              .where(MeasurementRow.architecture_id == arch_id))
    assert left == 0
