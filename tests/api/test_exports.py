"""Exports as cached artifacts: built once per (architecture, weights) and kept content-addressed in
NAS_EXPORT_DIR (a restarted service serves them without building), concurrent requests for one artifact share
its one build, a full build queue answers 503 with Retry-After, and the bytes load (ONNX, TorchScript, weights)."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import exports
from api.main import create_app
from store.settings import Settings


def _scaled(client: TestClient, phi: float = 0, zoo: str = "mobilenet_v3_small") -> dict:
    response = client.post("/v1/scalings", json={"base": {"zoo": zoo}, "phi": phi})
    assert response.status_code == 201, response.text
    return response.json()["data"][0]


@pytest.fixture
def fresh(settings: Settings, tmp_path: Path) -> Settings:
    """The module's settings with an empty export directory."""
    return settings.model_copy(update={"export_dir": tmp_path / "exports"})


def test_an_export_is_built_once_and_kept_across_restarts(fresh: Settings) -> None:
    with TestClient(create_app(fresh)) as c:
        arch = _scaled(c)
        first = c.get(arch["links"]["onnx"])
        assert first.status_code == 200 and c.app.state.exports.builds == 1
        again = c.get(arch["links"]["onnx"])
        assert again.content == first.content and c.app.state.exports.builds == 1  # before: exported every time
        etag = first.headers["etag"]
        assert c.get(arch["links"]["onnx"], headers={"If-None-Match": etag}).status_code == 304
    assert len(list(fresh.export_dir.rglob("*.onnx"))) == 1
    with TestClient(create_app(fresh)) as c:  # a new process over the same directory
        assert c.get(arch["links"]["onnx"]).content == first.content and c.app.state.exports.builds == 0


def test_concurrent_requests_for_one_artifact_share_its_build(fresh: Settings) -> None:
    with TestClient(create_app(fresh)) as c:
        arch = _scaled(c, zoo="efficientnet_b0")
        with ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(lambda _: c.get(arch["links"]["onnx"]), range(6)))
        assert [r.status_code for r in responses] == [200] * 6 and len({r.content for r in responses}) == 1
        assert c.app.state.exports.builds == 1


def test_a_full_build_queue_is_503_with_retry_after(fresh: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    release, started = threading.Event(), threading.Event()
    real = exports._build_and_keep

    def held(fmt, spec, path):  # the first build waits until released
        started.set()
        assert release.wait(120)
        return real(fmt, spec, path)

    monkeypatch.setattr(exports, "_build_and_keep", held)
    with TestClient(create_app(fresh.model_copy(update={"export_queue": 1}))) as c:
        one, two = _scaled(c, 0), _scaled(c, 1)
        with ThreadPoolExecutor(2) as pool:
            building = pool.submit(c.get, two["links"]["onnx"])
            assert started.wait(60)
            joining = pool.submit(c.get, two["links"]["onnx"])  # the same artifact: waits for that build
            refused = c.get(one["links"]["onnx"])  # another one: the queue (1) is full
            assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
            assert "NAS_EXPORT_QUEUE" in refused.json()["detail"]
            release.set()
            assert building.result(timeout=120).status_code == 200 and joining.result(timeout=120).status_code == 200
        assert c.app.state.exports.builds == 1
        assert c.get(one["links"]["onnx"]).status_code == 200  # room again


def test_torchscript_and_weights_load(client: TestClient) -> None:
    import torch
    from safetensors.torch import load

    from searchspace.builder import build
    from searchspace.spec import ArchSpec

    arch = _scaled(client)
    scripted = client.get(arch["links"]["torchscript"])
    assert scripted.status_code == 200 and scripted.headers["content-disposition"].endswith('.pt"')
    module = torch.jit.load(io.BytesIO(scripted.content))
    weights = client.get(arch["links"]["weights"])
    assert weights.status_code == 200 and weights.headers["content-disposition"].endswith('.safetensors"')
    model = build(ArchSpec.from_dict(arch["spec"])).eval()
    model.load_state_dict(load(weights.content), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(module(x), model(x), atol=1e-5)  # the same seeded weights in both
