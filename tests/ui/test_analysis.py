"""The pages for reading a large search and the devices, in headless Chromium against the real service: a search
of 60 stored trials shows its trial table a page at a time, paged and sorted by the API, and its stage choices in
parallel coordinates; the devices page uploads a profile, lists it and shows its table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from searchspace.counter import count
from searchspace.space import sample
from tests.service_process import Running
from tests.ui.conftest import start_service

pytestmark = pytest.mark.timeout(300)
TRIALS = 60


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-analysis")


@pytest.fixture(scope="module")
def service(service_dir: Path) -> Iterator[Running]:
    with start_service(service_dir) as run:
        yield run


@pytest.fixture(scope="module")
def many(service: Running, service_dir: Path) -> str:
    """A finished search of ``TRIALS`` trials, stored as a driver stores them: sampled architectures of the
    search's space with their counted MACs and parameters, each with a two-epoch learning curve (the metrics
    follow from the count, as the driver tests' stand-in evaluation does)."""
    from store import crud
    from store.db import session_scope
    from store.models import JobState, Search
    from workers.runtime import TrialState
    from workers.search import SearchConfig, TrialRecord

    config = SearchConfig.from_dict({"n_trials": TRIALS, "objective": "macs", "space": {"resolutions": [16, 24]},
                                     "baselines": []})
    space = config.with_data_shape(10, 1).space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    with session_scope(f"sqlite:///{service_dir / 'ui.db'}") as session:
        search = Search(name="many trials", config=config.to_dict(), state=JobState.SUCCEEDED)
        session.add(search)
        session.flush()
        for number in range(TRIALS):
            spec = sample(study.ask(), space)
            cost = count(spec)
            accuracy = 0.5 + (cost.params % 997) / 2000
            crud.record_trial(session, search_id=search.id, record=TrialRecord(
                number=number, state=TrialState.COMPLETE, spec_key=spec.to_string(), params=cost.params,
                macs=cost.macs, accuracy=accuracy, latency_ms=cost.macs / 1e6,
                epoch_accuracies=[accuracy - 0.1, accuracy]))
        return str(search.id)


def _view(page, view: str) -> None:
    page.wait_for_selector(f"#trials[data-view='{view}']")


def test_the_trial_table_is_paged_and_sorted_by_the_api(page, service: Running, many: str,
                                                       screenshots: Path) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/trials?" in r.url else None)
    page.goto(f"/#/search/{many}")
    page.wait_for_function(f"document.querySelector('#app').dataset.rendered === '{TRIALS}'")
    _view(page, "number:asc:0:25")
    assert page.locator("#trials tbody tr").count() == 25  # a page, not the 60 trials
    assert page.locator("#trial-page").inner_text() == f"1–25 of {TRIALS}"
    assert page.locator("#trials td.col-trial_number").all_inner_texts() == [str(n) for n in range(25)]
    assert any("skip=0&limit=25&sort=number&order=asc" in url for url in asked)

    page.click("#trials-next")
    _view(page, "number:asc:25:25")
    assert page.locator("#trials td.col-trial_number").first.inner_text() == "25"
    page.click("#trials-next")
    _view(page, "number:asc:50:25")
    assert page.locator("#trials tbody tr").count() == TRIALS - 50 and page.locator("#trials-next").is_disabled()

    page.click("#trials th[data-key='accuracy']")  # sorted by the API, from the first page
    _view(page, "accuracy:asc:0:25")
    page.click("#trials th[data-key='accuracy']")
    _view(page, "accuracy:desc:0:25")
    expected = service.client.get(f"/v1/searches/{many}/trials",
                                  params={"sort": "accuracy", "order": "desc", "limit": 25}).json()["data"]
    assert page.locator("#trials td.col-trial_number").all_inner_texts() == [str(t["trial_number"]) for t in expected]
    assert page.locator("#trials th.desc").get_attribute("data-key") == "accuracy"
    assert page.locator("#trials th[data-col='state']").get_attribute("data-key") is None  # the API cannot sort it
    page.select_option("#trial-page-size", "100")
    _view(page, "accuracy:desc:0:100")
    assert page.locator("#trials tbody tr").count() == TRIALS
    # what differs: never the same text for every row, never the whole spec string
    columns = page.locator("#trials td.col-spec_string").all_inner_texts()
    assert len(set(columns)) > 1 and not any(c.startswith("arch:") for c in columns)
    page.screenshot(path=screenshots / "search-many-trials.png", full_page=True)


def test_stage_choices_in_parallel_coordinates(page, service: Running, many: str, screenshots: Path) -> None:
    trials = service.client.get(f"/v1/searches/{many}/trials", params={"limit": 100}).json()["data"]
    front = service.client.get(f"/v1/searches/{many}/pareto").json()["data"]
    page.goto(f"/#/search/{many}")
    page.wait_for_function(f"document.querySelector('#app').dataset.rendered === '{TRIALS}'")
    assert page.locator("#choices path.pc-line").count() == TRIALS
    assert page.locator("#choices path.pc-line.highlight").count() == len(front) >= 1
    axes = page.locator("#choices g.pc-axis").evaluate_all("gs => gs.map(g => g.dataset.axis)")
    kinds = [{st["block"]["kind"] for st in (t["spec"]["stages"][i] for t in trials)}
             for i in range(len(trials[0]["spec"]["stages"]))]
    varying = [f"s{i + 1} block" for i, k in enumerate(kinds) if len(k) > 1]
    assert axes == ["resolution", *varying, "MACs", "accuracy"]  # stages every trial agrees on left out
    page.select_option("#choice-field", "kernel")
    page.wait_for_selector("#choices g.pc-axis[data-axis$=' kernel']")
    kernels = page.locator("#choices g.pc-axis").evaluate_all("gs => gs.map(g => g.dataset.axis)")
    assert kernels[0] == "resolution" and kernels[-2:] == ["MACs", "accuracy"]
    assert all(a.endswith(" kernel") for a in kernels[1:-2])
    page.screenshot(path=screenshots / "search-choices.png", full_page=True)
    page.locator("#choices path.pc-line.highlight").first.click(force=True)
    page.wait_for_url(re.compile(r"#/architecture/[0-9a-f-]+$"))
    assert page.url.rsplit("/", 1)[1] in {t["id"] for t in front}


def test_devices_page_uploads_lists_and_shows_a_profile(page, service: Running, screenshots: Path,
                                                         tmp_path: Path) -> None:
    entries = {f"mbconv_k{k}_e{e}|16x16x{c}": {"ms": round(0.01 * k * e + c / 1000, 4), "spread_ms": 0.001,
                                              "repeats": 5}
               for k in (3, 5, 7) for e in (1, 3, 6) for c in range(8, 136, 8)}
    profile = {"schema_version": 2, "device": {"name": "board", "cpu": "test cpu", "machine": "aarch64",
                                               "cores": 4, "threads": 2, "runtime": "onnxruntime"},
               "correction": {"scale": 1.1, "offset_ms": 0.2, "fitted_on": 4}, "entries": entries}
    path = tmp_path / "board.json"
    path.write_text(json.dumps(profile))
    page.goto("/#/devices")
    page.set_input_files("#u-file", str(path))
    page.fill("#u-name", "ui-board")
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"#/device/[0-9a-f-]+$"))
    device_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#entries tbody tr")
    assert page.locator("#device-title").inner_text() == "ui-board"
    assert "test cpu" in page.locator("#device-summary").inner_text()
    assert page.locator("#correction").inner_text().startswith("predicted = 1.100 × (sum of entries)")
    assert page.locator("#entries tbody tr").count() == 100 and len(entries) > 100
    assert page.locator("#entry-count").inner_text() == f"{len(entries)} of {len(entries)} parts"
    page.fill("#entry-filter", "k5 e6")
    shown = page.locator("#entries tbody td:first-child").all_inner_texts()
    assert shown and all("k5_e6" in key for key in shown) and len(shown) == len(range(8, 136, 8))
    with page.expect_download() as saved:
        page.click("#download-json")
    assert json.loads(Path(saved.value.path()).read_text())["entries"] == entries
    page.screenshot(path=screenshots / "device.png", full_page=True)
    page.goto("/#/devices")
    row = page.locator(f"#devices tr[data-id='{device_id}']")
    row.wait_for()
    assert row.locator("td").nth(0).inner_text() == "ui-board" and "onnxruntime" in row.inner_text()
    page.screenshot(path=screenshots / "devices.png", full_page=True)
    page.set_input_files("#u-file", {"name": "bad.json", "mimeType": "application/json",
                                     "buffer": json.dumps({"device": {}, "entries": {"x": {"ms": -1}}}).encode()})
    page.click("#upload-button")
    page.wait_for_function("document.querySelector('#upload-error').textContent.includes('ms')")
