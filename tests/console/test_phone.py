"""The console on a phone (390 px, an iPhone 12–15's CSS width) in real Chromium: no page
scrolls sideways, the search hint shows whole, and no chart label is cut off."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rumbo.db import Database
from rumbo.eta.store import import_histories
from tests.analytics.test_lanes_and_weeks import slow_lane_history
from tests.conftest import NOW, Tenant
from tests.console.conftest import PASSWORD, Staff
from tests.web.conftest import LiveServer, place_order, server  # noqa: F401
from tests.web.test_browser import ARTIFACTS, ROOT, browser  # noqa: F401

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
# Pictures for docs/ are rewritten on demand, as the README's is.
SHOTS = ROOT / "docs" if os.environ.get("RUMBO_UPDATE_SCREENSHOT") else ARTIFACTS


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "rumbo.db"
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert not errors


def _sign_in(tab: Any, url: str, staff: Staff, language: str) -> None:
    tab.goto(f"{url}/console/login?lang={language}")
    tab.fill("#email", staff.email)
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{url}/console")


def _page_width(tab: Any) -> int:
    return int(tab.evaluate("document.documentElement.scrollWidth"))


def _placeholder_fits(tab: Any) -> bool:
    """Whether the search field's placeholder, in its own font, fits its text box."""
    return bool(
        tab.evaluate(
            """() => {
              const input = document.getElementById('q');
              const style = getComputedStyle(input);
              const ctx = document.createElement('canvas').getContext('2d');
              ctx.font = `${style.fontSize} ${style.fontFamily}`;
              const room = input.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
              return ctx.measureText(input.placeholder).width <= room;
            }"""
        )
    )


@pytest.mark.parametrize("language", ["pt-BR", "es", "en"])
def test_order_search_and_inquiries_fit_a_phone(
    server: LiveServer,  # noqa: F811
    tenant: Tenant,
    agent: Staff,
    phone: Any,
    language: str,
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        order = place_order(http, tenant)
        place_order(http, tenant)
    _sign_in(phone, server.url, agent, language)
    assert _placeholder_fits(phone), phone.get_attribute("#q", "placeholder")
    for path in (
        f"/console/orders/{order['id']}",
        "/console/search?q=example.com",
        "/console/inquiries",
    ):
        phone.goto(f"{server.url}{path}")
        assert _page_width(phone) <= PHONE["width"], path
    phone.goto(f"{server.url}/console/orders/{order['id']}")
    if language == "en":
        SHOTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(SHOTS / "console-phone-order.png"), full_page=True)


def test_analytics_fits_a_phone_with_every_chart_label_in_view(
    server: LiveServer,  # noqa: F811
    db: Database,
    tenant: Tenant,
    admin: Staff,
    phone: Any,
) -> None:
    assert import_histories(db, tenant.merchant_id, slow_lane_history(), NOW).events_rejected == 0
    _sign_in(phone, server.url, admin, "pt-BR")
    phone.goto(f"{server.url}/console/analytics?from=2026-01-01&to=2026-12-01&lang=pt-BR")
    assert _page_width(phone) <= PHONE["width"]
    cut = phone.evaluate(
        """() => [...document.querySelectorAll('svg')].flatMap(svg => {
              const box = svg.viewBox.baseVal;
              return [...svg.querySelectorAll('text')].filter(t => {
                const b = t.getBBox();
                return b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5;
              }).map(t => t.textContent);
            })"""
    )
    assert cut == []
    SHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SHOTS / "console-phone-analytics.png"), full_page=True)
