"""The UI follows the system's colour scheme: a dark page when the browser prefers dark, a light one otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service_process import Running

pytestmark = pytest.mark.timeout(180)


def _luminance(css_rgb: str) -> float:
    r, g, b = (int(v) for v in css_rgb[css_rgb.index("(") + 1:css_rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colour_scheme_follows_the_system(browser, service: Running, screenshots: Path, scheme: str) -> None:
    context = browser.new_context(base_url=str(service.client.base_url), color_scheme=scheme,
                                  viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/#/zoo")
    page.wait_for_selector("table.data tbody tr")
    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    table = page.evaluate("getComputedStyle(document.querySelector('table.data')).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    page.screenshot(path=screenshots / f"zoo-{scheme}.png")
    context.close()
    if scheme == "dark":
        assert _luminance(body) < 60 and _luminance(table) < 60 and _luminance(text) > 180, (body, table, text)
    else:
        assert _luminance(body) > 200 and _luminance(table) > 200 and _luminance(text) < 80, (body, table, text)
