"""A detection search's pages in headless Chromium against the real service: the search page plots mAP against
the cost and reads the detectors' stages, and a trained detector's architecture page shows its validation
images with the trained weights' predicted boxes beside the true ones."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from searchspace.space import DETECTION_SPACE
from tests.service_process import Running
from tests.ui.conftest import start_service

pytestmark = pytest.mark.timeout(300)
TRIALS = 6


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-detection")


@pytest.fixture(scope="module")
def service(service_dir: Path) -> Iterator[Running]:
    with start_service(service_dir) as run:
        yield run


@pytest.fixture(scope="module")
def detection(service: Running, service_dir: Path) -> tuple[str, str]:
    """A finished detection search stored as a driver stores it (sampled detectors, counted costs, stand-in mAP
    curves), and its first trial trained for real for one epoch into the service's artifacts, recorded as a
    finalize records it: the search's id and the trained architecture's."""
    from jobs.trained import trained_record
    from searchspace.detection import count_detector, sample_detector
    from store import crud
    from store.db import session_scope
    from store.models import JobState, Search
    from store.settings import Settings
    from workers.runtime import TrialState
    from workers.search import SearchConfig, TrialRecord, box_data
    from workers.search.detection_task import train_detector_network
    from workers.training import TrainRecipe

    url = f"sqlite:///{service_dir / 'ui.db'}"
    config = SearchConfig.from_dict({"task": "detection", "dataset": {"source": "builtin-boxes", "subset": 0.2},
                                     "n_trials": TRIALS, "objective": "macs", "baselines": [],
                                     "space": {**DETECTION_SPACE.to_dict(), "resolutions": [64]}})
    config = config.with_data_shape(3, 3)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=4))
    specs = [sample_detector(study.ask(), config.space, config.detector, 3) for _ in range(TRIALS)]
    artifacts = Settings(database_url=url).artifacts
    directory = artifacts / "finalizes" / "ui" / "trial-0"
    train_detector_network(specs[0].to_string(), box_data(config.dataset), TrainRecipe.from_dict(
        {"epochs": 1, "batch_size": 16, "optimizer": "adamw", "lr": 0.005}), str(directory), 1)
    with session_scope(url) as session:
        search = Search(name="detection", config=config.to_dict(), state=JobState.SUCCEEDED)
        session.add(search)
        session.flush()
        ids = []
        for number, spec in enumerate(specs):
            cost = count_detector(spec)
            value = (cost.params % 991) / 5000
            ids.append(crud.record_trial(session, search_id=search.id, record=TrialRecord(
                number=number, state=TrialState.COMPLETE, spec_key=spec.to_string(), params=cost.params,
                macs=cost.macs, accuracy=value, epoch_accuracies=[value / 2, value])).id)
        trained = trained_record(directory, artifacts, "finalize", uuid.uuid4())
        crud.record_trained(session, architecture_id=ids[0], job_id=uuid.uuid4(),
                            test_accuracy=trained["test_accuracy"], trained=trained)
        return str(search.id), str(ids[0])


def test_a_detection_search_plots_map_against_its_cost(page, service: Running, detection: tuple[str, str],
                                                       screenshots: Path) -> None:
    search_id, _ = detection
    page.goto(f"/#/search/{search_id}")
    page.wait_for_function(f"document.querySelector('#app').dataset.rendered === '{TRIALS}'")
    assert page.locator("#chart-title").inner_text().startswith("Pareto front: mAP against MACs")
    assert page.locator("#task").inner_text() == "detection"
    assert "validation mAP" in page.locator("#curves-title").inner_text()
    axes = page.locator("#choices g.pc-axis").evaluate_all("gs => gs.map(g => g.dataset.axis)")
    assert axes[-2:] == ["MACs", "mAP"] and any(a.endswith(" block") or a.startswith("s") for a in axes[:-2])
    assert page.locator('#trials th[data-col="accuracy"]').inner_text().startswith("mAP")
    columns = page.locator("#trials td.col-spec_string").all_inner_texts()
    assert any("yolox" in c or "ssdlite" in c for c in columns)  # the detector's head and neck in a few words
    page.screenshot(path=screenshots / "search-detection.png", full_page=True)


def test_a_trained_detector_shows_its_boxes_on_validation_images(page, service: Running, detection: tuple[str, str],
                                                                 screenshots: Path) -> None:
    _, architecture_id = detection
    page.goto(f"/#/architecture/{architecture_id}")
    page.wait_for_selector("#boxes figure.box-figure")
    figures = page.locator("#boxes figure.box-figure")
    assert figures.count() == 4
    assert page.locator("#boxes rect.truth").count() >= 4  # every generated image has an object
    assert page.locator("#boxes svg image").count() == 4
    shown = page.locator("#boxes rect.pred").count()
    preview = service.client.get(f"/v1/architectures/{architecture_id}/boxes").json()
    assert shown == sum(len(i["predicted"]) for i in preview["images"])
    assert "mAP" in page.locator("#trained-title").inner_text() and page.locator("#detector").count() == 1
    assert page.locator("#stages tbody tr").count() == 6  # the backbone's stem and stages (its head is not used)
    assert page.locator("#download-torchscript").count() == 0 and page.locator("#download-onnx").count() == 1
    page.screenshot(path=screenshots / "architecture-detector.png", full_page=True)


def test_a_detection_search_is_launched_from_the_form_with_the_tasks_defaults(page, service: Running) -> None:
    """Left empty, batch size, skeleton and baselines take the task's defaults (16, the detection skeleton, the
    three detector baselines); the launched search is cancelled at once."""
    from tests.ui.test_pages import fill

    page.goto("/")
    fill(page, {"name": "ui-detection", "dataset.source": "builtin-boxes", "dataset.subset": "0.2",
                "task": "detection", "objective": "macs", "n_trials": "1", "training.epochs": "1"})
    assert page.locator("#launch [name='training.batch_size']").input_value() == ""
    page.click("#launch-button")
    page.wait_for_url(re.compile(r"#/search/[0-9a-f-]+$"))
    search_id = page.url.rsplit("/", 1)[1]
    service.client.post(f"/v1/searches/{search_id}/cancel")
    config = service.client.get(f"/v1/searches/{search_id}").json()["config"]
    assert config["task"] == "detection"
    assert config["budget"]["batch_size"] == 16
    assert config["space"] == DETECTION_SPACE.to_dict()
    assert config["baselines"] == ["ssdlite320_mobilenet_v2", "ssdlite320_mobilenet_v3_large", "yolox_nano_style"]
