"""Schemathesis over the OpenAPI document: every operation, every check (server errors, status codes, content
types, headers, response schemas, negative data rejected, positive data accepted, Allow, auth), bounded in time."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from api.deps import API_KEY_HEADER
from api.main import create_app
from store.settings import Settings

API_KEY = "schemathesis-key"
_DB_DIR = Path(tempfile.mkdtemp(prefix="nas-openapi-"))
APP = create_app(Settings(database_url=f"sqlite:///{_DB_DIR / 'store.db'}", max_concurrent_searches=10_000,
                          api_key=API_KEY, data_root=_DB_DIR / "data"))  # generated sources are resolved there
# Schema-valid data may still be refused with a 422 naming the field: the ranges and the service's caps live in the
# config dataclasses (checked on construction), not in the schema, which gives only types and choices.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)
load_all_checks()
ALL_CHECKS = [CHECKS.get_one(name) for name in CHECKS.get_all_names()]  # the CLI's --checks all
# per operation: about a second each on a 2-core machine (set NAS_SCHEMATHESIS_EXAMPLES for a deeper run)
MAX_EXAMPLES = int(os.environ.get("NAS_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(scope="module", autouse=True)
def _database() -> Iterator[None]:
    for name in ("ant", "bee"):  # a small ImageFolder dataset, "imgs"
        (_DB_DIR / "data" / "imgs" / name).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), 100 * i).save(_DB_DIR / "data" / "imgs" / name / f"{i}.png")
    with TestClient(APP):  # the app's startup: migrations
        yield
    shutil.rmtree(_DB_DIR, ignore_errors=True)


def test_every_check_is_run() -> None:
    names = {check.__name__ for check in ALL_CHECKS}
    assert {"not_a_server_error", "status_code_conformance", "response_schema_conformance",
            "negative_data_rejection", "positive_data_acceptance", "ignored_auth"} <= names


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_passes_every_check(case: schemathesis.Case) -> None:
    if case.operation.path != "/v1/readyz":
        case.call_and_validate(headers={API_KEY_HEADER: API_KEY}, checks=ALL_CHECKS)
        return
    # the readiness probe answers 503 by design while jobs are queued and no driver runs (none runs here)
    response = case.call_and_validate(headers={API_KEY_HEADER: API_KEY}, checks=[
        c for c in ALL_CHECKS if c.__name__ not in {"not_a_server_error", "positive_data_acceptance"}])
    assert response.status_code != 503 or response.json()["status"] == "degraded", response.text


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
