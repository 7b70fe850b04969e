"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser), and the real service
(``python -m api --with-driver`` on a free loopback port, SQLite) started once per module.

Under CI=true a missing Chromium or Playwright fails the tests; elsewhere they are skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service_process import Running, running_service

CHROMIUM = Path(os.environ.get("NAS_UI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        _missing(f"playwright is not installed: {err}")
    if not CHROMIUM.is_file():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save a screenshot of every page (NAS_UI_SCREENSHOTS, else a temporary directory)."""
    given = os.environ.get("NAS_UI_SCREENSHOTS")
    path = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_service(tmp: Path, **extra_env: str):
    return running_service(f"sqlite:///{tmp / 'ui.db'}", True, tmp / "service.log", extra_env=extra_env)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with start_service(tmp_path_factory.mktemp("ui-service")) as run:
        yield run


@pytest.fixture
def page(browser, service: Running):
    context = browser.new_context(base_url=str(service.client.base_url), viewport={"width": 1400, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    base = str(service.client.base_url)  # no CDN, no network: the page asks the service only
    page.on("request", lambda r: None if r.url.startswith((base, "blob:", "data:"))
            else errors.append(f"request to {r.url}"))
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("dialog", lambda dialog: dialog.accept())  # confirm() before a delete
    yield page
    context.close()
    assert not errors, errors
