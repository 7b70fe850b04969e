"""A detection search request: task and dataset must agree, the one-shot strategy is refused, and a bad box in a
COCO directory under the data root is a 422 naming the file and the annotation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from store.settings import Settings
from tests.workers.detection.test_box_data import write_coco


def _field(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["field"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"task": "detection", "dataset": {"source": "digits"}}, "dataset.source", "classification dataset"),
    ({"dataset": {"source": "builtin-boxes"}}, "dataset.source", "task 'detection'"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "strategy": "oneshot"}, "strategy", "one-shot"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "baselines": ["mobilenet_v2"]}, "baselines",
     "detector zoo"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "detector": {"necks": ["bifpn"]}},
     "detector.necks[0]", "must be one of"),
])
def test_a_detection_request_that_does_not_fit_is_422_naming_the_field(client: TestClient, body: dict, field: str,
                                                                       words: str) -> None:
    response = client.post("/v1/searches", json=body)
    assert _field(response) == field and words in response.json()["detail"][0]["msg"], response.text


@pytest.fixture
def rooted(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    from api.main import create_app

    root = tmp_path / "data"
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}", data_root=root, read_cache_s=0)
    with TestClient(create_app(settings)) as client:
        yield client, root


def test_a_bad_box_under_the_data_root_is_422_naming_the_file_and_annotation(rooted: tuple[TestClient, Path]) -> None:
    client, root = rooted
    write_coco(root / "boxes", [[1, 1, 2, 2], [30, 20, 20, 5]])  # annotation 2 leaves the 40 x 30 image
    response = client.post("/v1/searches", json={"task": "detection", "dataset": {"source": "boxes"}})
    assert _field(response) == "dataset.source"
    message = response.json()["detail"][0]["msg"]
    assert "annotations.json" in message and "annotation 2" in message and str(root) not in message, message
    write_coco(root / "good")
    created = client.post("/v1/searches", json={"task": "detection", "dataset": {"source": "good"}, "n_trials": 2})
    assert created.status_code == 201, created.text
    config = created.json()["config"]
    assert config["task"] == "detection" and config["dataset"]["source"] == "good"  # shown relative to the root
    assert config["baselines"] == ["ssdlite320_mobilenet_v2", "ssdlite320_mobilenet_v3_large", "yolox_nano_style"]


@pytest.mark.parametrize(("training", "batch"), [(None, 16), ({"epochs": 2}, 16), ({"batch_size": 64}, 64)])
def test_a_detection_request_trains_at_batch_16_unless_it_asks_for_another(client: TestClient, training: dict | None,
                                                                           batch: int) -> None:
    body = {"task": "detection", "dataset": {"source": "builtin-boxes-small"}, "n_trials": 1, "baselines": []}
    created = client.post("/v1/searches", json=body if training is None else {**body, "training": training})
    assert created.status_code == 201, created.text
    assert created.json()["config"]["budget"]["batch_size"] == batch
    plain = client.post("/v1/searches", json={"n_trials": 1, "baselines": []})  # classification: TrainBudget's 64
    assert plain.json()["config"]["budget"]["batch_size"] == 64
