"""``/docs`` (Swagger UI) renders from assets the service serves itself, with the network blocked; ``/redoc``'s page
loads its script from the service too (its bundle's "powered by" logo alone points outside, and is blocked offline)."""

from __future__ import annotations

import pytest

from tests.service_process import Running

pytestmark = pytest.mark.timeout(180)


def test_swagger_ui_renders_offline(page, service: Running) -> None:
    path, rendered = "/docs", ".swagger-ui .info .title"
    base = str(service.client.base_url)
    blocked: list[str] = []

    def only_the_service(route) -> None:  # a CDN would be unreachable offline: refuse anything but the service
        if route.request.url.startswith((base, "blob:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_service)
    page.goto(path)
    page.wait_for_selector(rendered)
    assert "nas-scaler" in page.locator(rendered).first.inner_text()
    assert blocked == []
    html = service.client.get(path).text
    assert "cdn." not in html and "unpkg" not in html


def test_redoc_page_loads_its_script_from_the_service(service: Running) -> None:
    html = service.client.get("/redoc").text
    assert '<script src="/static-offline-docs/redoc.standalone.js">' in html
    assert "https://" not in html
    assert service.client.get("/static-offline-docs/redoc.standalone.js").status_code == 200
