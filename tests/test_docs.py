"""The documentation site builds with ``mkdocs build --strict`` (broken links and missing pages fail), and its
generated reference pages cover every configuration field, REST operation and ``nas`` subcommand."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import docs_reference


def test_site_builds_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.fail("mkdocs is a test dependency: pip install -e '.[test]'")
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("index.html", "getting-started/index.html", "reference/configuration/index.html",
                 "reference/rest/index.html", "reference/cli/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


def test_configuration_reference_lists_every_field() -> None:
    text = docs_reference.configuration_markdown()
    for _, cls, _ in docs_reference.CONFIGS:
        for field in dataclasses.fields(cls):
            assert f"| {field.name} |" in text or f"| {field.name}" in text, (cls.__name__, field.name)
    assert "`NAS_MAX_TRIALS`" in text


def test_rest_reference_lists_every_operation() -> None:
    from api.main import create_app

    text = docs_reference.rest_markdown()
    for path, operations in create_app().openapi()["paths"].items():
        for method in operations:
            assert f"## `{method.upper()} {path}`" in text


def test_cli_reference_has_every_subcommand() -> None:
    from api.console import ROUTES

    text = docs_reference.cli_markdown()
    assert all(f"## `nas {name}" in text for name in ROUTES)
    assert "usage: python -m workers search" in text
