"""/v1/zoo/{name}: one zoo network with its spec, and its standalone code; unknown names are a 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from searchspace import zoo


def test_zoo_network_spec_and_code(client: TestClient) -> None:
    got = client.get("/v1/zoo/ghostnet_1_0")
    assert got.status_code == 200
    assert got.json()["spec"] == zoo.get("ghostnet_1_0").to_dict()
    code = client.get("/v1/zoo/ghostnet_1_0/code")
    assert code.status_code == 200 and "def build_model" in code.text
    assert code.headers["content-disposition"] == 'attachment; filename="ghostnet_1_0.py"'


def test_unknown_zoo_network_is_404(client: TestClient) -> None:
    for path in ("/v1/zoo/nope", "/v1/zoo/nope/code"):
        got = client.get(path)
        assert got.status_code == 404 and "nope" in got.json()["detail"]
