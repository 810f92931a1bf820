"""The console in real headless Chromium over a real server: sign in, search, note, resolve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rumbo.db import Database
from tests.conftest import Tenant
from tests.console.conftest import PASSWORD, Staff
from tests.web.conftest import LiveServer, place_order, server  # noqa: F401
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401

pytestmark = [pytest.mark.browser]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite is enough here; the console's logic runs on both databases in test_pages."""
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "rumbo.db"
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert not errors  # no CSP violations, script errors or missing assets


def test_an_agent_signs_in_finds_an_order_notes_it_and_resolves_an_inquiry(
    server: LiveServer,  # noqa: F811
    db: Database,
    tenant: Tenant,
    agent: Staff,
    page: Any,
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        order = place_order(http, tenant)

    page.goto(f"{server.url}/console/inquiries")
    assert page.url.startswith(f"{server.url}/console/login?next=")
    page.fill("#email", agent.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{server.url}/console/inquiries")
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-rumbo_console")
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Lax"

    # One box: the tracking code typed loosely lands on the order.
    code = order["tracking_code"]
    page.fill("#q", f"{code[:4].lower()}-{code[4:]}")
    page.press("#q", "Enter")
    page.wait_for_url(f"{server.url}/console/orders/{order['id']}")
    assert page.locator("#order-status").inner_text() == "In transit"
    raw = page.locator("#timeline details").first
    assert not raw.locator("pre").is_visible()
    raw.locator("summary").click()
    assert raw.locator("pre").is_visible()

    page.fill("#note-text", "Shopper asked to leave it with the doorman.")
    page.click("#note-form button")
    page.wait_for_url(f"**/console/orders/{order['id']}?done=note#notes")
    assert page.locator("[role=status]").inner_text() == "Note added."
    assert "Shopper asked to leave it with the doorman." in page.locator("#notes").inner_text()

    page.click("summary:has-text('Open an inquiry')")
    page.select_option("#inquiry-type", "delay")
    page.fill("#inquiry-subject", "Late parcel")
    page.fill("#inquiry-message", "It should have arrived yesterday.")
    page.click("button:has-text('Open inquiry')")
    page.wait_for_url("**/console/inquiries/*?done=opened")
    assert page.locator("#inquiry-status").inner_text() == "Open"
    assert page.locator("#inquiry-assignee").inner_text() == "Carla"

    page.fill("#reply-text", "It is out for delivery today.")
    page.click("#reply-form button")
    page.wait_for_url("**?done=reply#conversation")
    assert page.locator("#inquiry-status").inner_text() == "Waiting"
    page.click("#resolve")
    page.wait_for_url("**?done=status")
    assert page.locator("#inquiry-status").inner_text() == "Resolved"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-inquiry.png"), full_page=True)

    page.goto(f"{server.url}/console/inquiries?status=resolved")
    assert page.locator("tr.inquiry-row").count() == 1
    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{server.url}/console/login")
    page.goto(f"{server.url}/console")
    assert "/console/login" in page.url
