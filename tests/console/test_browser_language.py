"""The console's language switcher in real headless Chromium: the choice outlives the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rumbo.console.pages import LANGUAGE_COOKIE
from tests.console.conftest import PASSWORD, Staff
from tests.web.conftest import LiveServer, server  # noqa: F401
from tests.web.test_browser import browser  # noqa: F401

pytestmark = [pytest.mark.browser]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite is enough: the language lives in a cookie, not in the database."""
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "rumbo.db"
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert not errors


def test_a_staff_member_switches_to_portuguese_and_stays_there(
    server: LiveServer,  # noqa: F811
    agent: Staff,
    page: Any,
) -> None:
    page.goto(f"{server.url}/console/login")
    assert page.locator("html").get_attribute("lang") == "es"  # the browser's language
    assert page.locator("h1").inner_text() == "Iniciar sesión en el panel"

    page.click("nav.languages a[hreflang=pt-BR]")
    page.wait_for_url("**/console/login?lang=pt-BR")
    assert page.locator("h1").inner_text() == "Entrar no painel"
    cookie = next(c for c in page.context.cookies() if c["name"] == LANGUAGE_COOKIE)
    assert cookie["value"] == "pt-BR"
    assert cookie["httpOnly"]
    assert cookie["path"] == "/console"

    page.fill("#email", agent.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Entrar')")
    page.wait_for_url(f"{server.url}/console")
    assert page.locator("h2").first.inner_text() == "Atribuídas a você"
    assert page.locator("nav.languages a[aria-current=true]").inner_text() == "Português"
