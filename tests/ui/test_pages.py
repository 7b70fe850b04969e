"""The web UI in headless Chromium against the real service: launch a small search from the form, follow it
live, read its Pareto plot, open an architecture, download its code and run it, scale it; field errors beside
their field; cancel, delete and the state filter; the scaling-search page, a full-fidelity one's family chart,
its cancel and delete; the API-key and read-key prompts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.service_process import Running, wait_for
from tests.ui.conftest import start_service

pytestmark = pytest.mark.timeout(300)
SMALL = {"n_trials": "2", "n_workers": "2", "sampler": "random", "pruner": "none", "space.resolutions": "16",
         "dataset.subset": "0.3", "training.epochs": "1", "training.batch_size": "32", "latency.warmup": "2",
         "latency.repeats": "5", "baselines": "mobilenet_v3_small, micronet_m1"}
SMALL_JSON = {"n_trials": 2, "n_workers": 2, "sampler": "random", "pruner": "none", "space": {"resolutions": [16]},
              "dataset": {"subset": 0.3}, "training": {"epochs": 1, "batch_size": 32},
              "latency": {"warmup": 2, "repeats": 5, "window_s": 0}, "baselines": []}


def fill(page, values: dict[str, str], form: str = "#launch") -> None:
    page.wait_for_selector(f"{form} [name='{next(iter(values))}']")  # the form is built from /openapi.json
    for name, value in values.items():
        field = page.locator(f"{form} [name='{name}']")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def test_launch_follow_pareto_architecture_download_and_scale(page, service: Running, screenshots: Path,
                                                              tmp_path: Path) -> None:
    page.goto("/")
    fill(page, {"name": "ui-small", **SMALL})
    page.screenshot(path=screenshots / "searches.png", full_page=True)
    page.click("#launch-button")
    page.wait_for_url(re.compile(r"#/search/[0-9a-f-]+$"))
    search_id = page.url.rsplit("/", 1)[1]
    page.evaluate("window.notReloaded = true")

    seen = set()  # the progress bar's trial count, read while the search runs: it advances without a reload
    for _ in range(600):
        done = page.locator("#progress .progress").get_attribute("data-done")
        seen.add(int(done))
        if page.locator("#summary .state").inner_text() == "succeeded":
            break
        page.wait_for_timeout(200)
    assert page.locator("#summary .state").inner_text() == "succeeded"
    assert page.evaluate("window.notReloaded") is True
    assert 2 in seen and len(seen) >= 2, seen

    trials = service.client.get(f"/v1/searches/{search_id}/trials").json()["data"]
    front = service.client.get(f"/v1/searches/{search_id}/pareto").json()["data"]
    measured = [t for t in trials if t["accuracy"] is not None and t["latency_ms"] is not None]
    page.wait_for_function(f"document.querySelector('#app').dataset.rendered === '{len(trials)}'")
    assert page.locator("#pareto circle.pt").count() == len(measured) == 2
    assert page.locator("#pareto circle.pt.front").count() == len(front) >= 1
    assert page.locator("#trials tbody tr").count() == len(trials)
    assert page.locator("#hypervolume circle").count() == len(measured)  # one value after each trial
    reference = service.client.get(f"/v1/searches/{search_id}").json()["hypervolume_reference"]
    assert reference["cost"] is None  # measured latency: nothing fixes the reference before the search runs
    assert page.locator("#hv-reference").inner_text().startswith("Reference point: accuracy 0 and the largest cost")
    # the baselines, trained beside the search: labelled reference points and their table with the verdict
    baselines = service.client.get(f"/v1/searches/{search_id}/baselines").json()["data"]
    assert [b["name"] for b in baselines] == ["mobilenet_v3_small", "micronet_m1"]
    assert all(b["state"] == "COMPLETE" and b["dominated"] in (True, False) for b in baselines), baselines
    page.wait_for_function("document.querySelectorAll('#pareto g.ref').length === 2")
    assert sorted(page.locator("#pareto g.ref .ref-label").all_text_contents()) == sorted(b["name"] for b in baselines)
    assert page.locator("#pareto g.ref.dominated").count() == sum(b["dominated"] for b in baselines)
    assert page.locator("#pareto circle.pt").count() == 2  # the reference points are not trials
    shown = dict(zip(page.locator("#baselines tbody td:first-child").all_inner_texts(),
                     page.locator("#baselines tbody td.verdict").all_inner_texts(), strict=True))
    assert shown == {b["name"]: f"yes (trial {b['dominated_by']})" if b["dominated"] else "no" for b in baselines}
    page.locator("#pareto g.ref rect").first.hover()
    assert page.locator("#tooltip").inner_text().startswith("baseline ")
    page.screenshot(path=screenshots / "search.png", full_page=True)

    # sorting by accuracy (by the API), descending on the second click
    page.click("#trials th[data-key='accuracy']")
    page.click("#trials th[data-key='accuracy']")
    page.wait_for_selector("#trials[data-view^='accuracy:desc:']")
    shown = [float(x) for x in page.locator("#trials td.col-accuracy").all_inner_texts()]
    assert shown == sorted(shown, reverse=True)
    # the architecture column: only what the trials' specs differ in (per-stage kind, kernel, ...), never the
    # common prefix; one learning curve per trial with an epoch, the front's highlighted
    columns = page.locator("#trials td.col-spec_string").all_inner_texts()
    assert all(c and not c.startswith("arch:") for c in columns), columns
    if len({t["spec_string"] for t in trials}) > 1:
        assert len(set(columns)) > 1, columns
    with_epochs = [t for t in trials if t["details"].get("epoch_accuracies")]
    assert page.locator("#curves path.curve").count() == len(with_epochs) >= 1
    assert page.locator("#curves path.curve.highlight").count() == len([t for t in with_epochs if t["id"] in
                                                                       {f["id"] for f in front}])

    point = page.locator("#pareto circle.pt.front").first
    point.hover()
    best = next(t for t in front if t["id"] == point.get_attribute("data-id"))
    assert page.locator("#tooltip").inner_text().endswith(best["spec_string"])
    point.click()
    page.wait_for_url(re.compile(rf"#/architecture/{best['id']}$"))
    spec = best["spec"]
    page.locator("#stages").wait_for()
    assert page.locator("#stages tbody tr").count() == len(spec["stages"]) + 2  # stem, stages, head
    assert page.locator("#spec-string").inner_text() == best["spec_string"]
    assert page.locator("#params").get_attribute("title") == str(best["params"])
    page.screenshot(path=screenshots / "architecture.png", full_page=True)

    with page.expect_download() as download:
        page.click("#download-py")
    code = tmp_path / "net.py"
    download.value.save_as(code)
    run = subprocess.run([sys.executable, "-c", (
        "import importlib.util, torch; s = importlib.util.spec_from_file_location('net', 'net.py'); "
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); net = m.build_model(num_classes=10).eval(); "
        "print(tuple(net(torch.zeros(1, *m.INPUT_SIZE)).shape))")], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(1, 10)"
    with page.expect_download() as download:
        page.click("#download-json")
    assert download.value.suggested_filename.endswith(".json")

    fill(page, {"phi_range.stop": "2"}, form="#scale")
    page.check("#f-official")
    page.click("#scale-button")
    page.wait_for_selector("#family tr.member")
    assert page.locator("#family tr.member").count() == 6  # phi 0, 1, 2: derived and the published table
    assert page.locator("#family-macs .series").count() == 2
    page.screenshot(path=screenshots / "scaling.png", full_page=True)
    # a scaling search of the found network: its form comes with the network, its search's data and full fidelity
    page.click("#scale-family")
    page.wait_for_url(re.compile(rf"#/scaling-searches/from/{best['id']}$"))
    page.locator("#f-fidelity").wait_for()
    dataset = service.client.get(f"/v1/searches/{search_id}").json()["config"]["dataset"]
    assert page.locator("#f-base-architecture_id").input_value() == best["id"]
    assert page.locator("#f-base-zoo").input_value() == ""
    assert page.locator("#f-fidelity").input_value() == "full"
    assert page.locator("#f-dataset-source").input_value() == dataset["source"]
    assert float(page.locator("#f-dataset-subset").input_value()) == dataset["subset"]
    page.goto("/")
    page.locator(f"#searches tr[data-id='{search_id}'] .state").wait_for()
    page.screenshot(path=screenshots / "searches-list.png")


def test_field_errors_show_beside_the_field_the_api_names(page, service: Running) -> None:
    page.goto("/")
    fill(page, {**SMALL, "n_trials": "0", "dataset.subset": "2"})
    page.click("#launch-button")
    error = page.locator("[data-error-for='dataset.subset']")  # the service reports its first range error
    error.wait_for(state="visible")
    assert "must be in" in error.inner_text()
    assert page.locator(".field.invalid").count() >= 1
    fill(page, {**SMALL, "n_workers": "two"})  # not a number: the type error, beside n_workers
    page.click("#launch-button")
    page.locator("[data-error-for='n_workers']").wait_for(state="visible")
    assert page.locator("[data-error-for='dataset.subset']").inner_text() == ""
    assert re.search(r"#/?$", page.url) or "#" not in page.url  # nothing launched


def test_cancel_delete_and_filter_from_the_list(page, service: Running) -> None:
    created = service.client.post("/v1/searches", json={**SMALL_JSON, "name": "to-cancel", "n_trials": 50}).json()
    page.goto("/")
    row = page.locator(f"#searches tr[data-id='{created['id']}']")
    row.locator("button[data-action='cancel']").click()
    wait_for(service.client, created["id"], lambda s: s["state"] == "cancelled", 60)
    page.select_option("#state-filter", "cancelled")
    page.wait_for_function(f"""[...document.querySelectorAll('#searches tbody tr[data-id]')]
        .every(tr => tr.querySelector('.state').textContent === 'cancelled')
        && document.querySelector("#searches tr[data-id='{created['id']}']")""")
    row.locator("button[data-action='delete']").click()
    row.wait_for(state="detached")
    assert service.client.get(f"/v1/searches/{created['id']}").status_code == 404


def test_scaling_search_page_shows_the_candidates(page, service: Running, screenshots: Path) -> None:
    page.goto("/#/scaling-searches")
    fill(page, {"name": "grid", "base.zoo": "mobilenet_v2", "dataset.subset": "0.3", "max_candidates": "2",
                "training.epochs": "1", "extra": '{"resolution": 16, "latency": {"warmup": 2, "repeats": 5, "window_s": 0}}'},
         form="#launch-grid")
    page.click("#launch-grid button[type='submit']")
    page.wait_for_url(re.compile(r"#/scaling-search/[0-9a-f-]+$"))
    page.wait_for_function("document.querySelector('#summary .state')?.textContent === 'succeeded'", timeout=180_000)
    page.wait_for_selector("#candidates tbody tr.chosen")
    assert page.locator("#candidates tbody tr").count() == 2
    assert re.match(r"(not )?distinguishable at 0\.05: ", page.locator("#comparison").inner_text())  # 3 seeds each
    assert page.locator("#candidates tbody tr.chosen td").nth(8).inner_text() == "3"
    page.screenshot(path=screenshots / "scaling-search.png", full_page=True)
    page.goto("/#/scaling-searches")
    page.wait_for_selector("#scaling-searches a")


@pytest.mark.timeout(600)  # 6 tiny trainings with their exports, on a shared machine
def test_a_full_fidelity_scaling_search_plots_its_family_beside_the_baselines(page, service: Running,
                                                                             screenshots: Path) -> None:
    from tests.scaler.test_family import BASE

    found = service.client.post("/v1/scalings", json={"base": {"spec": BASE.to_dict()}, "phi": 0}).json()["data"][0]
    page.goto("/#/scaling-searches")
    extra = {"resolution": None, "proxy_width": 1, "proxy_depth": 1, "latency": {"warmup": 2, "repeats": 5},
             "recipe": {"batch_size": 64, "bn_calibration": 64, "auto_augment": "none", "ema_decay": 0}}
    fill(page, {"name": "family", "base.zoo": "", "base.architecture_id": found["id"], "dataset.subset": "0.3",
                "max_candidates": "2", "seeds": "1", "fidelity": "full", "recipe.epochs": "1", "phis": "0, 1",
                "extra": json.dumps(extra)}, form="#launch-grid")
    page.click("#launch-grid button[type='submit']")
    page.wait_for_url(re.compile(r"#/scaling-search/[0-9a-f-]+$"))
    page.wait_for_function("document.querySelector('#summary .state')?.textContent === 'succeeded'", timeout=570_000)
    page.wait_for_selector("#trained-family:not([hidden]) #family tbody tr")
    assert page.locator("#family tbody tr").count() == 4  # phi 0 and 1, MobileNetV2 at each one's MACs
    for chart in ("#family-latency", "#family-macs"):  # accuracy against latency and MACs: two lines of two points
        assert page.locator(f"{chart} svg .series").count() == 2
        assert page.locator(f"{chart} svg .series circle").count() == 4
    assert page.locator("#family-comparisons li").count() == 2
    assert page.locator("#family tbody tr a").count() == 2  # each trained member is an architecture
    page.screenshot(path=screenshots / "scaling-family.png", full_page=True)


def test_a_scaling_search_is_cancelled_and_deleted_from_the_list(page, service: Running) -> None:
    created = service.client.post("/v1/scaling-searches", json={
        "name": "to-cancel", "base": {"zoo": "mobilenet_v2"}, "max_candidates": 4, "seeds": 5,
        "resolution": 16, "dataset": {"subset": 0.3}, "training": {"epochs": 3}}).json()
    page.goto("/#/scaling-searches")
    row = page.locator(f"#scaling-searches tr[data-id='{created['id']}']")
    row.locator("button[data-action='cancel']").click()
    deadline = time.monotonic() + 90
    while service.client.get(f"/v1/scaling-searches/{created['id']}").json()["state"] != "cancelled":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    row.locator("button[data-action='delete']").click()
    row.wait_for(state="detached")
    assert service.client.get(f"/v1/scaling-searches/{created['id']}").status_code == 404


def test_the_ui_asks_for_the_api_key_and_sends_it(browser, tmp_path: Path, screenshots: Path) -> None:
    with start_service(tmp_path, NAS_API_KEY="sesame") as run:
        context = browser.new_context(base_url=str(run.client.base_url), viewport={"width": 1400, "height": 900})
        page = context.new_page()
        keys: list[str | None] = []
        page.on("request", lambda r: keys.append(r.headers.get("x-api-key")) if r.method == "POST" else None)
        page.goto("/")
        page.locator("#key-dialog").wait_for(state="visible")
        page.screenshot(path=screenshots / "api-key.png")
        page.fill("#key-input", "wrong")
        page.click("#key-ok")
        fill(page, {**SMALL, "n_trials": "0"})
        page.click("#launch-button")  # refused (401): asked again, and the request is sent again with the new key
        page.locator("#key-dialog").wait_for(state="visible")
        assert "refused" in page.locator("#key-reason").inner_text()
        page.fill("#key-input", "sesame")
        page.click("#key-ok")
        page.locator("[data-error-for='n_trials']").wait_for(state="visible")  # past the key: the body's 422
        assert keys == ["wrong", "sesame"]
        context.close()


def test_the_ui_asks_for_the_read_key_once_and_reads_with_it(browser, tmp_path: Path, screenshots: Path) -> None:
    with start_service(tmp_path, NAS_READ_KEY="r3ad") as run:
        base = str(run.client.base_url)
        context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900}, accept_downloads=True)
        context.set_default_timeout(30_000)
        page = context.new_page()
        keys: list[str | None] = []
        page.on("request", lambda r: keys.append(r.headers.get("x-api-key")) if "/v1/" in r.url else None)
        dialogs: list[str] = []
        page.goto("/")
        page.locator("#key-dialog").wait_for(state="visible")
        dialogs.append(page.locator("#key-reason").inner_text())
        assert keys == []  # nothing read before the key is given
        page.screenshot(path=screenshots / "read-key.png")
        page.fill("#key-input", "r3ad")
        page.click("#key-ok")
        page.goto("/#/zoo")
        page.wait_for_selector("#zoo tbody tr")  # read with the key
        arch = run.client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0},
                               headers={"X-API-Key": "r3ad"}).json()["data"][0]
        page.goto(f"/#/architecture/{arch['id']}")
        page.wait_for_selector("#download-py")
        with page.expect_download() as download:  # the file too comes with the key
            page.click("#download-py")
        assert download.value.suggested_filename.endswith(".py")
        assert not page.locator("#key-dialog").is_visible() and "read" in dialogs[0]  # asked once
        assert keys and set(keys) == {"r3ad"}
        context.close()


def test_zoo_page_lists_the_networks_and_scales_one(page, service: Running, screenshots: Path) -> None:
    zoo = service.client.get("/v1/zoo").json()
    page.goto("/#/zoo")
    page.wait_for_selector("#zoo tbody tr")
    assert page.locator("#zoo tbody tr").count() == zoo["count"]
    page.screenshot(path=screenshots / "zoo.png", full_page=True)
    page.click("#zoo a:text-is('mobilenet_v2')")
    page.wait_for_url(re.compile(r"#/zoo/mobilenet_v2$"))
    spec = service.client.get("/v1/zoo/mobilenet_v2").json()["spec"]
    page.wait_for_selector("#stages tbody tr")
    assert page.locator("#stages tbody tr").count() == len(spec["stages"]) + 2  # the stem, each stage, the head
    with page.expect_download() as code:
        page.click("#download-py")
    assert "def build_model" in Path(code.value.path()).read_text()
    with page.expect_download() as saved:
        page.click("#download-json")
    assert json.loads(Path(saved.value.path()).read_text()) == spec
    fill(page, {"phi_range.stop": "1"}, form="#scale")
    page.click("#scale-button")
    page.wait_for_selector("#family tr.member")
    assert page.locator("#family tr.member").count() == 2
    page.click("#family tr.member >> nth=1 >> a")
    page.locator("#origin").wait_for()
    assert "scaled from mobilenet_v2 at phi 1" in page.locator("#origin").inner_text()


def test_a_trained_architecture_shows_full_fidelity_beside_the_proxy(page, service: Running,
                                                                       screenshots: Path) -> None:
    """Train from the architecture page: its epochs while it trains, then the test accuracy beside the proxy's,
    the learning curves, and the trained downloads."""
    from tests.workers import tiny_spec

    created = service.client.post("/v1/scalings", json={"base": {"spec": tiny_spec(resolution=12).to_dict()},
                                                        "phi": 0}).json()
    architecture_id = created["data"][0]["id"]
    page.goto(f"/#/architecture/{architecture_id}")
    assert page.locator("#full-accuracy").inner_text().startswith("—")
    fill(page, {"recipe.epochs": "3", "recipe.resolution": "12", "recipe.batch_size": "64"}, form="#train")
    page.click("#train-button")
    page.wait_for_selector("#training-status .state")
    deadline = time.monotonic() + 240
    while not page.locator("#trained-curves").count():  # the page renders again once the training succeeded
        assert time.monotonic() < deadline, page.locator("#training-status").inner_text()
        page.wait_for_timeout(300)
    arch = service.client.get(f"/v1/architectures/{architecture_id}").json()
    assert page.locator("#test-accuracy").inner_text().startswith(f"{arch['test_accuracy']:.3f}")
    assert page.locator("#proxy-accuracy").inner_text().startswith("—")  # never proxy-trained: a scaled network
    assert page.locator("#trained-curves .series").count() == 2  # the weights and their EMA
    assert page.locator("#trained-curves .series-0 circle").count() == len(arch["trained"]["epochs"]) == 3
    assert page.locator("#download-weights").inner_text() == "Download trained weights"
    page.screenshot(path=screenshots / "architecture-trained.png", full_page=True)
    with page.expect_download() as download:
        page.click("#download-weights")
    assert download.value.suggested_filename.endswith("_trained.safetensors")


def test_architecture_page_lists_the_measured_latencies(page, service: Running, screenshots: Path) -> None:
    arch = service.client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0}).json()["data"][0]
    page.goto(f"/#/architecture/{arch['id']}")
    page.wait_for_selector("#no-measurements")
    assert f"nas measure --architecture {arch['id']}" in page.locator("#measured").inner_text()
    for ms in (12.5, 13.0):
        body = {"latency_ms": ms, "min_round_ms": 12.0, "max_round_ms": 14.0, "source": "TFLite benchmark_model",
                "device": {"cpu": "Cortex-A72", "runtime": "int8", "threads": 4}}
        assert service.client.post(f"/v1/architectures/{arch['id']}/measurements", json=body).status_code == 201
    page.reload()
    page.wait_for_selector("#measurements tbody tr")
    rows = page.locator("#measurements tbody tr")
    assert rows.count() == 2 and "13.000" in rows.nth(0).inner_text()  # the newest first
    text = rows.nth(1).inner_text()
    assert "12.500" in text and "int8" in text and "Cortex-A72" in text and "TFLite benchmark_model" in text
    assert rows.nth(1).locator("td.ratio").inner_text() == "—"  # a scaled network holds no latency of its own
    page.screenshot(path=screenshots / "architecture-measurements.png", full_page=True)


def test_a_search_is_finalized_from_its_page_with_the_proxy_truth(page, service: Running, screenshots: Path) -> None:
    """Finalize from the search's page: every network's epochs while they train, then the networks' proxy and
    full-fidelity accuracy and the proxy truth (the correlations, the sentences, the baselines' verdicts)."""
    search = service.client.post("/v1/searches", json={**SMALL_JSON, "space": {"resolutions": [12]},
                                                       "baselines": ["micronet_m1"]}).json()
    wait_for(service.client, search["id"], lambda b: b["state"] not in ("queued", "running"), timeout_s=240)
    page.goto(f"/#/search/{search['id']}")
    fill(page, {"top_k": "2", "recipe.epochs": "2", "recipe.resolution": "12", "recipe.batch_size": "64"},
         form="#finalize")
    page.click("#finalize-button")
    page.wait_for_selector("#finalizes .finalize")
    deadline = time.monotonic() + 240
    while not page.locator("#finalizes .agreement-sentence").count():
        assert time.monotonic() < deadline, page.locator("#finalizes").inner_text()
        page.wait_for_timeout(500)
    [job] = service.client.get("/v1/finalizes", params={"search_id": search["id"]}).json()["data"]
    assert job["state"] == "succeeded", job["error"]
    truth = job["proxy_truth"]
    card = page.locator(f"#finalizes .finalize[data-id='{job['id']}']")
    assert card.locator(".agreement-sentence").inner_text() == truth["agreement_sentence"]
    assert card.locator(".dominance-sentence").inner_text() == truth["dominance_sentence"]
    assert card.locator("table.networks tbody tr").count() == len(job["result"]["networks"]) == 3
    assert card.locator("table.baselines-truth tbody tr").count() == 1
    spearman = truth["agreement"]["spearman"]
    assert card.locator(".spearman").inner_text().startswith("—" if spearman is None else f"{spearman:.2f}")
    page.screenshot(path=screenshots / "finalize.png", full_page=True)
    card.locator("table.networks a").first.click()  # a trained network's page
    page.wait_for_selector("#trained-curves")
