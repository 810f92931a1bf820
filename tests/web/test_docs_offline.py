"""The API docs render in a real browser with no request leaving the host: Swagger UI
and ReDoc come from the package (fastapi-offline), not a CDN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer
from tests.web.test_browser import browser  # noqa: F401

pytestmark = [pytest.mark.browser]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "rumbo.db"
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture
def offline(browser: Any, server: LiveServer) -> Iterator[tuple[Any, list[str]]]:  # noqa: F811
    """A tab whose every request outside the server is recorded and refused, as on a
    box without a way out."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_the_server(route: Any) -> None:
        url = route.request.url
        if url.startswith(server.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_the_server)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab, outside
    context.close()
    # ReDoc's bundle always tries its vendor's logo from cdn.redoc.ly; the docs' policy
    # stops it in the browser (the image hides itself), so it never leaves the host.
    blocked_logo = "https://cdn.redoc.ly/redoc/logo-mini.svg' violates"
    assert [e for e in errors if blocked_logo not in e] == []


def test_swagger_ui_renders_offline(server: LiveServer, offline: tuple[Any, list[str]]) -> None:
    tab, outside = offline
    tab.goto(f"{server.url}/docs")
    tab.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert tab.locator(".swagger-ui .title").first.inner_text().startswith("Rumbo")
    assert tab.locator(".opblock").count() > 20
    assert outside == []


def test_redoc_renders_offline(server: LiveServer, offline: tuple[Any, list[str]]) -> None:
    tab, outside = offline
    tab.goto(f"{server.url}/redoc")
    tab.wait_for_selector("[data-section-id]", timeout=30_000)
    assert "Rumbo" in tab.locator("h1").first.inner_text()
    assert tab.locator("[data-section-id]").count() > 20
    assert outside == []
