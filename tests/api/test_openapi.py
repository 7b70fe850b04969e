"""Schemathesis over the OpenAPI document: whatever the generated requests hold, no server error (5xx)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from store.settings import Settings

_DB_DIR = Path(tempfile.mkdtemp(prefix="nas-openapi-"))
APP = create_app(Settings(database_url=f"sqlite:///{_DB_DIR / 'store.db'}", max_concurrent_searches=10_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _database() -> Iterator[None]:
    with TestClient(APP):  # the app's startup: migrations
        yield
    shutil.rmtree(_DB_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])


def test_openapi_document_has_examples_and_security() -> None:
    doc = create_app(Settings(database_url="sqlite:///unused.db")).openapi()
    paths = doc["paths"]
    for path in ("/v1/searches", "/v1/searches/{search_id}", "/v1/searches/{search_id}/trials",
                 "/v1/searches/{search_id}/pareto", "/v1/searches/{search_id}/cancel",
                 "/v1/architectures/{architecture_id}", "/v1/architectures/{architecture_id}/code",
                 "/v1/architectures/{architecture_id}/onnx", "/v1/scalings", "/v1/scaling-searches",
                 "/v1/scaling-searches/{job_id}", "/v1/zoo", "/v1/healthz"):
        assert path in paths, path
    schemas = doc["components"]["schemas"]
    assert schemas["SearchCreate"]["examples"] and schemas["ScalingCreate"]["examples"]
    assert "APIKeyHeader" in doc["components"]["securitySchemes"]
    assert paths["/v1/searches"]["post"]["security"] and "security" not in paths["/v1/searches"]["get"]
