"""End to end in real headless Chromium (Debian's /usr/bin/chromium, no downloads)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, Tenant
from tests.factories import event_body
from tests.web.conftest import LiveServer, place_order

pytestmark = [pytest.mark.browser]

CHROMIUM = Path(os.environ.get("RUMBO_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing (run .ci/install-browser)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium, or .ci/install-browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but playwright is not installed")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 360, "height": 780}, device_scale_factor=1)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    # A wrong answer (403), a typo (422) or being offline is a page the shopper is meant
    # to see.
    expected = ("status of 403", "status of 422", "ERR_INTERNET_DISCONNECTED")
    unexpected = [e for e in errors if not any(status in e for status in expected)]
    assert not unexpected  # no CSP violations, script errors or missing assets


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite is enough here; the live mechanism is tested on both databases."""
    value: str = request.getfixturevalue("sqlite_template").as_posix()
    target = tmp_path / "rumbo.db"
    target.write_bytes(Path(value).read_bytes())
    return f"sqlite:///{target}"


def _branded_order(server: LiveServer, tenant: Tenant) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        http.patch(
            "/api/v1/merchant",
            json={
                "accent_color": "#5B2A86",
                "support_email": "ajuda@aurora.example",
                "support_phone": "+55 11 4000-1234",
                "support_url": "https://aurora.example/ajuda",
            },
            headers=tenant.headers,
        ).raise_for_status()
        return place_order(http, tenant)


@pytest.mark.parametrize(
    ("lang", "heading", "status"),
    [
        ("pt-BR", "Histórico", "Em trânsito"),
        ("es", "Historial", "En tránsito"),
        ("en", "History", "In transit"),
    ],
)
def test_tracking_link_shows_the_timeline_in_each_language(
    server: LiveServer, tenant: Tenant, page: Any, lang: str, heading: str, status: str
) -> None:
    order = _branded_order(server, tenant)
    page.goto(f"{server.url}/t/{order['tracking_code']}?lang={lang}")
    assert page.locator("h2#history-title").inner_text() == heading
    assert page.locator("#status-title").inner_text() == status
    items = page.locator("ol.timeline > li")
    assert items.count() == 3
    assert "Curitiba, PR" in items.first.inner_text()
    assert page.locator("[aria-current=step]").count() == 1
    # The accent colour came through /theme/<colour>.css (CSP blocks inline styles).
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    assert accent == "#5b2a86"
    # Readable at 360 px: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tracking-{lang}.png"), full_page=True)


def test_an_event_pushed_through_the_api_updates_the_open_page(
    server: LiveServer, tenant: Tenant, page: Any
) -> None:
    order = _branded_order(server, tenant)
    page.goto(f"{server.url}/t/{order['tracking_code']}?lang=en")
    # Waits that run in Playwright's own world: the page's CSP (script-src 'self') refuses
    # the eval() a polled string predicate needs.
    page.wait_for_selector("#live", state="attached")
    page.wait_for_timeout(300)  # let EventSource connect
    with httpx.Client(base_url=server.url, timeout=10) as http:
        http.post(
            "/api/v1/events",
            json=[
                event_body(
                    None,
                    carrier="correios",
                    tracking_number="PN987654321BR",
                    status="out_for_delivery",
                    occurred_at="2026-11-22T08:00:00-03:00",
                    location={"city": "São Paulo", "state": "SP", "country": "BR"},
                    description="Saiu para entrega ao destinatário",
                )
            ],
            headers=tenant.headers,
        ).raise_for_status()
    page.locator("#status-title", has_text="Out for delivery").wait_for(timeout=8000)
    assert page.locator("ol.timeline > li").count() == 4
    assert "Saiu para entrega" in page.locator("ol.timeline > li").first.inner_text()
    current = page.locator("[aria-current=step]").inner_text()
    assert "Out for delivery" in current
    assert page.url.endswith("?lang=en")  # no reload, no navigation
    if os.environ.get("RUMBO_UPDATE_SCREENSHOT"):  # the README's picture, on demand
        page.set_viewport_size({"width": 400, "height": 1180})
        page.evaluate("document.getElementById('live').classList.remove('is-updated')")
        page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))


def test_privacy_gate_in_the_browser(server: LiveServer, tenant: Tenant, page: Any) -> None:
    order = _branded_order(server, tenant)
    page.goto(f"{server.url}/t/{order['tracking_code']}?lang=en")
    assert page.get_by_text("Ana Souza").count() == 0
    page.get_by_label("Postal code or e-mail").fill("99999-000")
    page.get_by_role("button", name="Show details").click()
    assert "does not match" in page.get_by_role("alert").inner_text()
    page.get_by_label("Postal code or e-mail").fill("01310-100")
    page.get_by_role("button", name="Show details").click()
    page.get_by_role("heading", name="Delivery details").wait_for()
    assert page.get_by_text("Ana Souza").count() == 1
    assert "Camiseta" in page.locator(".items").inner_text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = cookies[f"rumbo_t_{order['tracking_code']}"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tracking-verified.png"), full_page=True)


def test_code_form_catches_a_typo(server: LiveServer, tenant: Tenant, page: Any) -> None:
    order = _branded_order(server, tenant)
    code = order["tracking_code"]
    typo = code[:5] + code[6] + code[5] + code[7:]  # two neighbours swapped
    if typo == code:
        typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.goto(f"{server.url}/?lang=es")
    page.get_by_label("Código de seguimiento").fill(typo)
    page.get_by_role("button", name="Seguir").click()
    assert "errata" in page.get_by_role("alert").inner_text()
    page.get_by_label("Código de seguimiento").fill(code.lower())
    page.get_by_role("button", name="Seguir").click()
    page.wait_for_url(f"**/t/{code}?lang=es")
    assert page.locator("#status-title").inner_text() == "En tránsito"


def test_keyboard_focus_is_visible(server: LiveServer, tenant: Tenant, page: Any) -> None:
    order = _branded_order(server, tenant)
    page.goto(f"{server.url}/t/{order['tracking_code']}?lang=en")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")  # skip to content, then walk the page's controls
    visited = []
    for _ in range(5):
        page.keyboard.press("Tab")
        tag, style, width = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
        )
        if tag == "BODY":  # past the last control
            break
        visited.append(tag)
        assert (style, width) == ("solid", "3px"), tag
    assert visited[:2] == ["INPUT", "BUTTON"]  # the privacy gate comes first after the skip


def test_the_page_works_without_javascript(
    server: LiveServer, tenant: Tenant, browser: Any
) -> None:
    order = _branded_order(server, tenant)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 780})
    try:
        page = context.new_page()
        page.goto(f"{server.url}/t/{order['tracking_code']}?lang=pt-BR")
        assert page.locator("#status-title").inner_text() == "Em trânsito"
        page.get_by_label("CEP ou e-mail").fill("01310-100")
        page.get_by_role("button", name="Mostrar dados").click()
        page.get_by_role("heading", name="Dados da entrega").wait_for()
        assert page.get_by_text("Ana Souza").count() == 1
        page.get_by_role("link", name="Español").click()
        assert page.locator("#status-title").inner_text() == "En tránsito"
        assert page.get_by_text("Ana Souza").count() == 1  # still verified
    finally:
        context.close()


@pytest.mark.parametrize(
    ("lang", "gate_label", "show", "offer", "shown"),
    [
        (
            "pt-BR",
            "CEP ou e-mail",
            "Mostrar dados",
            "Receba as novidades deste pedido",
            "foi enviado",
        ),
        (
            "es",
            "Código postal o correo electrónico",
            "Mostrar datos",
            "Recibe las novedades de este pedido",
            "fue enviado",
        ),
        (
            "en",
            "Postal code or e-mail",
            "Show details",
            "Get the news about this order",
            "has shipped",
        ),
    ],
)
def test_the_installed_page_shows_pushed_news_and_opens_offline(
    server: LiveServer,
    tenant: Tenant,
    page: Any,
    lang: str,
    gate_label: str,
    show: str,
    offer: str,
    shown: str,
) -> None:
    from rumbo.notifications.channels.push import payload
    from tests.notifications.conftest import make_message

    order = _branded_order(server, tenant)
    url = f"{server.url}/t/{order['tracking_code']}?lang={lang}"
    manifest = httpx.get(f"{server.url}/t/{order['tracking_code']}/manifest.webmanifest").json()
    assert manifest["start_url"] == f"/t/{order['tracking_code']}"
    assert manifest["display"] == "standalone"
    page.context.grant_permissions(["notifications"], origin=server.url)
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")

    page.goto(url)
    page.get_by_label(gate_label).fill("01310-100")
    page.get_by_role("button", name=show).click()
    page.get_by_role("heading", name=offer).wait_for()
    # The channels this order can use (no SMS provider, no WhatsApp sender here): e-mail,
    # on by default; turning it off is saved for the order.
    boxes = page.locator("input[data-channel]")
    assert boxes.count() == 1
    email = page.locator("input[data-channel=email]")
    assert email.is_checked()
    email.uncheck()
    page.wait_for_selector("#notify-state:not(:empty)")
    assert not email.is_checked()  # a failed save would have put it back
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    [registration] = [r for r in registrations if r["scopeURL"].endswith("/t/")][:1]

    # What Rumbo's push channel encrypts for this order, as the push service hands it over.
    news = payload(
        make_message(
            language=lang,
            tracking_code=order["tracking_code"],
            tracking_url=f"{server.url}/t/{order['tracking_code']}",
        )
    )
    push = {
        "origin": server.url,
        "registrationId": registration["registrationId"],
        "data": news.decode(),
    }
    # The worker shows the news asynchronously: poll (a predicate returning a promise
    # would count as true at once). A busy machine can drop a push handed to a worker that
    # is still starting; the push service retries, and so does this test: the news carries
    # one tag, so a second delivery replaces the first rather than adding one.
    deadline = time.monotonic() + 45
    notes: list[dict[str, Any]] = []
    while not notes and time.monotonic() < deadline:
        cdp.send("ServiceWorker.deliverPushMessage", push)
        retry = time.monotonic() + 5
        while not notes and time.monotonic() < min(retry, deadline):
            notes = page.evaluate(
                """navigator.serviceWorker.ready
                .then(r => r.getNotifications())
                .then(n => n.map(x => (
                    {title: x.title, body: x.body, lang: x.lang, tag: x.tag})))"""
            )
            if not notes:
                page.wait_for_timeout(100)
    assert notes == [
        {
            "title": "Casa Aurora Móveis",
            "body": notes[0]["body"],
            "lang": lang,
            "tag": f"rumbo-{order['tracking_code']}",
        }
    ]
    assert order["tracking_code"] in notes[0]["body"]
    assert shown in notes[0]["body"]

    # Seen once under the worker, the page opens without a network with its last status.
    page.reload()
    status = page.locator("#status-title").inner_text()
    page.context.set_offline(True)
    try:
        page.reload()
        assert page.locator("#status-title").inner_text() == status
        accent = page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
        )
        assert accent == "#5b2a86"  # the store's colours came from the worker's copy
    finally:
        page.context.set_offline(False)


# What the anonymous view never shows: the shopper's name, street, postal code, items, phone.
PRIVATE = ("Ana Souza", "Paulista", "01310", "Camiseta", "998765432")
# Every entry of every cache the page's origin holds, as text.
CACHE_CONTENTS = """async () => {
  const found = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      found.push({cache: name, url: request.url, text: await response.text()});
    }
  }
  return found;
}"""


def test_the_offline_copy_holds_only_the_anonymous_view(
    server: LiveServer, tenant: Tenant, page: Any
) -> None:
    order = _branded_order(server, tenant)
    code = order["tracking_code"]
    page.goto(f"{server.url}/t/{code}?lang=en")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the worker's control
    status = page.locator("#status-title").inner_text()

    page.get_by_label("Postal code or e-mail").fill("01310-100")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show details").click()
    page.get_by_role("heading", name="Delivery details").wait_for()
    assert page.get_by_text("Ana Souza").count() == 1
    assert navigation.value.headers["cache-control"] == "no-store, private"

    # The worker keeps the anonymous view for offline, fetched again without the cookie.
    path = f"/t/{code}"
    deadline = time.monotonic() + 15
    pages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        entries = page.evaluate(CACHE_CONTENTS)
        pages = [e for e in entries if e["url"].endswith(path)]
        if pages:
            break
        page.wait_for_timeout(100)
    assert [e["cache"] for e in pages] == ["rumbo-shell-v2"]
    assert status in pages[0]["text"]
    for entry in page.evaluate(CACHE_CONTENTS):
        leaked = [secret for secret in PRIVATE if secret in entry["text"]]
        assert not leaked, (entry["url"], leaked)

    # Offline, the installed page opens with the status and nothing past the gate.
    page.context.set_offline(True)
    try:
        page.reload()
        assert page.locator("#status-title").inner_text() == status
        body = page.locator("body").inner_text()
        assert not [secret for secret in PRIVATE if secret in body]
    finally:
        page.context.set_offline(False)
