"""The dataset checks run again when a driver starts a job: data made unsafe while the job waited (a FIFO where
an image was, a class directory linked out of the data root, the directory swapped for a link) fails the job with
the reason, and the trials it already stored stay."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.main import create_app
from store.settings import Settings
from tests.jobs.test_service import SLOW, running, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")
SEARCH = {"n_trials": 6, "n_workers": 1, "sampler": "random", "pruner": "none", "baselines": [],
          "training": {"epochs": 1}, "dataset": {"source": "imgs"}}


def _image_folder(root: Path) -> Path:
    for c in ("ant", "bee"):
        (root / c).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (8, 8), 60 * i).save(root / c / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data-root")


@pytest.fixture(scope="module")
def data_settings(settings: Settings, data_root: Path) -> Settings:
    return settings.model_copy(update={"data_root": data_root})


@pytest.fixture(scope="module")
def data_client(data_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(data_settings)) as c:
        yield c


@pytest.fixture
def imgs(data_root: Path) -> Iterator[Path]:
    path = _image_folder(data_root / "imgs")
    yield path
    if path.is_symlink():
        path.unlink()
    shutil.rmtree(path, ignore_errors=True)


def _failed(client: TestClient, search_id: str) -> dict:
    body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"))
    assert body["state"] == "failed", body
    return body


def test_a_fifo_put_in_while_queued_fails_the_search_with_the_reason_and_keeps_its_trials(
        data_client: TestClient, data_settings: Settings, imgs: Path, data_root: Path) -> None:
    created = data_client.post("/v1/searches", json=SEARCH)
    assert created.status_code == 201, created.text
    search_id = created.json()["id"]
    with running(data_settings, SLOW, name="first"):  # some trials stored, then handed back to the queue
        wait_for(data_client, search_id, lambda b: b["progress"]["complete"] >= 1)
    assert data_client.get(f"/v1/searches/{search_id}").json()["state"] == "queued"
    before = data_client.get(f"/v1/searches/{search_id}/trials", params={"limit": 100}).json()["data"]
    (imgs / "ant" / "1.png").unlink()
    os.mkfifo(imgs / "ant" / "1.png")  # reading it would hang the driver
    with running(data_settings, name="second"):
        body = _failed(data_client, search_id)
    assert body["error"] == ("DatasetError: imgs/ant/1.png: is not a regular file (a FIFO); checked again when the "
                             "job started")
    assert str(data_root) not in body["error"] and body["attempts"] == 2
    after = data_client.get(f"/v1/searches/{search_id}/trials", params={"limit": 100}).json()["data"]
    assert {t["id"] for t in before} <= {t["id"] for t in after} and len(before) >= 1


def test_a_directory_swapped_for_a_link_out_of_the_root_fails_the_scaling_search(
        data_client: TestClient, data_settings: Settings, imgs: Path, tmp_path: Path) -> None:
    created = data_client.post("/v1/scaling-searches", json={"base": {"zoo": "efficientnet_b0"}, "max_candidates": 2,
                                                             "dataset": {"source": "imgs"}})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    outside = _image_folder(tmp_path / "secret")
    shutil.rmtree(imgs)
    os.symlink(outside, imgs)
    with running(data_settings):
        job = wait_for_job(data_client, job_id)
    assert job["state"] == "failed"
    assert job["error"] == ("DatasetError: imgs: no longer resolves under the service's data root (NAS_DATA_ROOT); "
                            "checked again when the job started")
    assert str(tmp_path) not in job["error"]


def test_a_class_directory_linked_out_of_the_root_fails_the_search(
        data_client: TestClient, data_settings: Settings, imgs: Path, tmp_path: Path) -> None:
    search_id = data_client.post("/v1/searches", json=SEARCH).json()["id"]
    outside = _image_folder(tmp_path / "secret")
    shutil.rmtree(imgs / "bee")
    os.symlink(outside / "bee", imgs / "bee")
    with running(data_settings):
        body = _failed(data_client, search_id)
    assert body["error"].startswith("DatasetError: imgs/bee: is a symbolic link pointing outside the service's data "
                                    "root; checked again")


def wait_for_job(client: TestClient, job_id: str) -> dict:
    import time

    deadline = time.monotonic() + 90
    while (job := client.get(f"/v1/scaling-searches/{job_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job
