"""The catalogue check, over what the server renders: every HTML page a shopper or a
staff member opens, in Portuguese and in Spanish, says no raw key (a status, a risk,
a notification state, an event source) and no date in ISO form, and declares its
language. tests/web/test_catalogues.py checks the catalogues hold every message; this
checks the pages use them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.events.status import Status
from rumbo.models import Order
from rumbo.notifications.restraint import Channel
from rumbo.notifications.service import UnsubscribeTokens
from rumbo.support import service as support
from tests.conftest import NOW, Tenant
from tests.console.conftest import Staff, place, signed_in
from tests.factories import event_body

RAW_KEYS = {
    *(s.value for s in Status),
    *("on_track", "at_risk", "late"),
    *("queued", "sending", "sent", "failed", "suppressed", "superseded", "opted_out"),
    *("store", "payment", "warehouse", "carrier", "device", "agent"),
    *("open", "waiting", "resolved", "delivered", "shipped", "pending"),
}
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


class _Text(HTMLParser):
    """The words a reader sees: text outside code, raw payloads, scripts and styles."""

    SKIP = {"code", "pre", "script", "style", "textarea"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.words.append(data)


def _seen(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.words)


@pytest.mark.parametrize("language", ["pt-BR", "es"])
def test_every_page_speaks_its_language_with_no_raw_keys(
    client: TestClient, db: Database, tenant: Tenant, admin: Staff, language: str
) -> None:
    day = "2026-11-"
    order = place(
        client, tenant, customer={"name": "Ana", "email": "a@x.example", "locale": language}
    )
    events = [
        event_body(order, status="shipped", source="warehouse", occurred_at=f"{day}21T09:00:00Z"),
        event_body(order, status="in_transit", source="carrier", occurred_at=f"{day}22T09:00:00Z"),
    ]
    assert client.post("/api/v1/events", json=events, headers=tenant.headers).status_code < 300
    with db.session() as session:
        session.get(Order, order["id"]).risk = "at_risk"  # type: ignore[union-attr]
        inquiry = support.create_inquiry(
            session, tenant.merchant_id, order_id=order["id"], type="delay", source="agent",
            subject="Atraso", now=NOW,
        )  # fmt: skip
    token = UnsubscribeTokens("test-secret").issue(order["id"], Channel.EMAIL)
    code = order["tracking_code"]
    html = {"Accept": "text/html"}
    pages = {
        "/": client.get("/", params={"lang": language}, headers=html),
        f"/t/{code}": client.get(f"/t/{code}", params={"lang": language}, headers=html),
        "/unsubscribe": client.get(f"/unsubscribe/{token}", headers=html),
        "/console/login": client.get("/console/login", params={"lang": language}, headers=html),
    }
    signed_in(client, admin)
    for path in (
        "/console",
        f"/console/orders/{order['id']}",
        "/console/search?q=a%40x.example",
        "/console/inquiries",
        f"/console/inquiries/{inquiry.id}",
        "/console/staff",
        "/console/analytics?from=2026-11-01&to=2026-12-01",
    ):
        joiner = "&" if "?" in path else "?"
        pages[path] = client.get(f"{path}{joiner}lang={language}", headers=html)
    for path, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), path
        assert f'<html lang="{language}">' in page.text, path
        text = _seen(page.text)
        raw = sorted(k for k in RAW_KEYS if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text))
        assert raw == [], (path, raw)
        assert not ISO_DAY.search(text), (path, ISO_DAY.search(text))
