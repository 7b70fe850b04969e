"""A detection search submitted to the API runs on the driver service with real Ray and real training: trials
with validation mAP, the best detector downloads as a standalone .py and ONNX; its finalize trains
it and the architecture page's boxes endpoint shows the trained weights' predictions on validation images."""

from __future__ import annotations

import base64
import importlib.util
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from store.settings import Settings
from tests.jobs.test_service import running, wait_for
from tests.workers.test_detection_search import TINY_SPACE
from workers.search import evaluate_trial

pytestmark = pytest.mark.usefixtures("ray_session")
SEARCH = {"task": "detection", "dataset": {"source": "builtin-boxes", "subset": 0.2}, "space": {"skeleton": "detection",
          "resolutions": [64], "kinds": ["mbconv"], "kernels": [3], "expansions": [3.0], "se_ratios": [0.0],
          "acts": ["relu"], "repeat_deltas": [-1], "width_factors": [0.75]},
          "detector": {"widths": [8, 16], "head_convs": [1]}, "training": {"epochs": 1, "batch_size": 16},
          "n_trials": 2, "n_workers": 2, "sampler": "random", "objective": "macs", "pruner": "none", "seed": 2,
          "baselines": []}  # the CLI test trains one
assert TINY_SPACE  # the CLI test's tiny space; the API's request names a skeleton and choice lists instead


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite only: one real detection search is enough (the backends are tested with stand-in evaluations)."""
    yield f"sqlite:///{tmp_path_factory.mktemp('det') / 'store.db'}"


def test_an_api_detection_search_runs_and_its_detectors_download(client: TestClient, settings: Settings,
                                                                  tmp_path: Path) -> None:
    created = client.post("/v1/searches", json=SEARCH)
    assert created.status_code == 201, created.text
    search_id = created.json()["id"]
    with running(settings, evaluate=evaluate_trial):
        body = wait_for(client, search_id, lambda b: b["state"] not in ("queued", "running"), timeout_s=120)
    assert body["state"] == "succeeded", body
    trials = client.get(f"/v1/searches/{search_id}/trials", params={"limit": 10}).json()["data"]
    assert len(trials) == 2 and all(t["state"] == "COMPLETE" and 0.0 <= t["accuracy"] <= 1.0 for t in trials)
    assert all(t["spec"]["backbone"]["resolution"] == 64 and t["spec_string"].startswith("det:") for t in trials)
    best = body["best"]
    code = client.get(best["links"]["code"])
    assert code.status_code == 200 and code.headers["x-nas-weights"] == "seeded"
    path = tmp_path / "detector.py"
    path.write_text(code.text)
    module_spec = importlib.util.spec_from_file_location("detector", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    import torch

    model = module.build_model().eval()
    with torch.inference_mode():
        boxes, scores = model.detect(torch.randn(1, 3, 64, 64))
    assert boxes.shape[-1] == 4 and scores.shape[-1] == 3
    onnx = client.get(best["links"]["onnx"])
    assert onnx.status_code == 200 and len(onnx.content) > 1000
    assert client.get(best["links"]["torchscript"]).status_code == 409  # detectors ship as .py, ONNX, weights
    assert client.get(f"/v1/architectures/{best['id']}/boxes").status_code == 409  # not trained yet

    started = client.post(f"/v1/searches/{search_id}/finalize",
                          json={"top_k": 1, "baselines": False, "recipe": {"epochs": 1, "batch_size": 16}})
    assert started.status_code == 201, started.text
    with running(settings, evaluate=evaluate_trial):
        done = _wait_finalize(client, started.json()["id"])
    assert done["state"] == "succeeded", done
    [network] = done["result"]["networks"]
    trained = client.get(f"/v1/architectures/{network['architecture_id'] or best['id']}").json()
    assert 0.0 <= trained["test_accuracy"] <= 1.0 and trained["trained"]["test_map50"] >= trained["test_accuracy"]
    preview = client.get(f"/v1/architectures/{trained['id']}/boxes", params={"count": 2}).json()
    assert preview["size"] == 64 and preview["classes"] == ["disc", "square", "triangle"] and len(preview["images"]) == 2
    from PIL import Image

    for image in preview["images"]:
        assert Image.open(io.BytesIO(base64.b64decode(image["image"].split(",", 1)[1]))).size == (64, 64)
        assert image["truth"] and all(0 <= v <= 64 for b in image["truth"] for v in b["box"])
        assert all(p["score"] >= preview["score_threshold"] for p in image["predicted"])


def _wait_finalize(client: TestClient, finalize_id: str) -> dict:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(f"/v1/finalizes/{finalize_id}").json()
        if body["state"] not in ("queued", "running"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"finalize {finalize_id} did not end: {body}")
