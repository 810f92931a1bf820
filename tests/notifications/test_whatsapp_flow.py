"""WhatsApp end to end: store settings, opt-in after the privacy gate, the worker sending to
a local Cloud API, Meta's signed status callbacks and an opt-out reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from tests.conftest import Tenant

from .conftest import HttpServer, Responder
from .fake_meta import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    FakeMeta,
    meta_error,
    reply_callback,
    sign,
    status_callback,
)
from .outbox_support import new_order, push, rows, run_worker, summary

StartHttp = Callable[[Responder], HttpServer]
T0 = "2026-11-23T09:00:00-03:00"
AFTER_WINDOW = timedelta(minutes=6)
TEMPLATES = {
    "shipped": {"pt-BR": "pedido_enviado", "es": "pedido_enviado_es", "en": "order_shipped"},
    "delivered": {"pt-BR": "pedido_entregue", "es": "pedido_entregado", "en": "order_delivered"},
}


def stamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def set_up(client: TestClient, tenant: Tenant, server: HttpServer) -> dict[str, Any]:
    body = {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "templates": TEMPLATES,
    }
    response = client.put("/api/v1/whatsapp", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    rules = [
        {"kind": kind, "channels": ["email", "whatsapp", "push"]}
        for kind in ("shipped", "delivered")
    ]
    client.put("/api/v1/notification-rules", json={"rules": rules}, headers=tenant.headers)
    settings: dict[str, Any] = response.json()
    assert "access_token" not in settings
    assert "app_secret" not in settings
    return settings


def opt_in_on_the_page(client: TestClient, order: dict[str, Any]) -> None:
    code = order["tracking_code"]
    path = f"/api/v1/track/{code}/preferences"
    assert client.put(path, json={"whatsapp": True}).status_code == 401  # the gate first
    token = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "01310-100"}).json()[
        "token"
    ]
    response = client.put(path, json={"whatsapp": True}, headers={"X-Tracking-Token": token})
    assert response.status_code == 200, response.text
    assert response.json()["whatsapp"] is True


def with_meta(settings: Settings, server: HttpServer) -> Settings:
    return settings.model_copy(update={"whatsapp_base_url": server.url})


@dataclass
class Meta:
    """The store's sender set up against a local Cloud API, and a worker's settings."""

    fake: FakeMeta
    settings: Settings
    hook: str
    verify_token: str

    def post(self, client: TestClient, body: bytes) -> Any:
        return client.post(self.hook, content=body, headers={"X-Hub-Signature-256": sign(body)})


@pytest.fixture
def meta(client: TestClient, tenant: Tenant, settings: Settings, http_server: StartHttp) -> Meta:
    fake = FakeMeta()
    server = http_server(fake)
    stored = set_up(client, tenant, server)
    return Meta(fake, with_meta(settings, server), stored["webhook_path"], stored["verify_token"])


def test_an_opted_in_shopper_gets_whatsapp_only_and_meta_reports_delivered_and_read(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    meta: Meta,
    shared_data: Path,
) -> None:
    order = new_order(client, tenant)
    opt_in_on_the_page(client, order)

    push(client, tenant, order, "shipped", T0)
    push(client, tenant, order, "shipped", T0)  # the same news twice: one message
    clock.advance(AFTER_WINDOW)
    assert run_worker(meta.settings, db, clock) == 1
    assert run_worker(meta.settings, db, clock) == 0

    assert sorted(summary(db, order["id"])) == [
        ("shipped", "email", "suppressed", "duplicate"),
        ("shipped", "whatsapp", "sent", None),
    ]
    [body] = meta.fake.sent
    assert body["to"] == "5511998765432"
    assert body["template"]["name"] == "pedido_enviado"
    assert body["template"]["components"][0]["parameters"][1]["text"] == order["tracking_code"]
    [sent] = [r for r in rows(db, order["id"]) if r.status == "sent"]
    wamid = sent.reference
    assert wamid == "wamid.HBgN000001"

    # Meta's callbacks: signed, possibly repeated and out of order.
    for status, seconds in [("read", 1795000200), ("delivered", 1795000100), ("read", 1795000300)]:
        response = meta.post(client, status_callback(shared_data, wamid, status, seconds))
        assert response.status_code == 200, response.text
    history = client.get(
        f"/api/v1/orders/{order['id']}/notifications", headers=tenant.headers
    ).json()
    whatsapp = next(n for n in history if n["channel"] == "whatsapp")
    # The earliest report of each wins, whatever order they came in.
    assert datetime.fromisoformat(whatsapp["delivered_at"]) == stamp(1795000100)
    assert datetime.fromisoformat(whatsapp["read_at"]) == stamp(1795000200)
    assert {n["channel"] for n in history} == {"email", "whatsapp"}


def test_a_bad_signature_changes_nothing(client: TestClient, meta: Meta, shared_data: Path) -> None:
    hook = meta.hook
    callback = status_callback(shared_data, "wamid.x", "delivered", 1795000100)
    for signature in [None, sign(callback, "another-secret"), sign(callback + b" ")]:
        headers = {"X-Hub-Signature-256": signature} if signature else {}
        response = client.post(hook, content=callback, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_signature"
    assert meta.post(client, b"not json").status_code == 422


def test_the_verify_token_handshake(client: TestClient, meta: Meta) -> None:
    hook, token = meta.hook, meta.verify_token
    ok = client.get(
        hook,
        params={"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": token},
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    wrong = client.get(
        hook,
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "meatyhamhock"},
    )
    assert wrong.status_code == 403
    assert (
        client.get("/webhooks/whatsapp/999999", params={"hub.mode": "subscribe"}).status_code == 404
    )


@pytest.mark.parametrize("word", ["SAIR", "parar", " Stop ", "BAJA", "baja."])
def test_an_opt_out_reply_stops_whatsapp(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    meta: Meta,
    shared_data: Path,
    word: str,
) -> None:
    order = new_order(client, tenant)
    opt_in_on_the_page(client, order)
    response = meta.post(client, reply_callback(shared_data, "5511998765432", word))
    assert response.json() == {"statuses": 0, "opt_outs": 1, "templates": 0}

    push(client, tenant, order, "shipped", T0)
    assert ("shipped", "whatsapp", "suppressed", "opted_out") in summary(db, order["id"])


def test_a_plain_reply_is_not_an_opt_out(client: TestClient, meta: Meta, shared_data: Path) -> None:
    response = meta.post(client, reply_callback(shared_data, "5511998765432", "quando chega? stop"))
    assert response.json() == {"statuses": 0, "opt_outs": 0, "templates": 0}


def test_meta_errors_retry_suppress_or_pause_the_template_visibly(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    meta: Meta,
) -> None:
    fake, settings = meta.fake, meta.settings
    fake.errors_by_to["5511900000001"] = meta_error(130429, "Rate limit hit")
    limited = new_order(
        client,
        tenant,
        customer={
            "name": "Bia",
            "phone": "+5511900000001",
            "locale": "pt-BR",
            "postal_code": "01310-100",
        },
    )
    store_opt_in = client.put(
        f"/api/v1/orders/{limited['id']}/whatsapp-opt-in", json={}, headers=tenant.headers
    )
    assert store_opt_in.status_code == 200
    push(client, tenant, limited, "shipped", T0)
    clock.advance(AFTER_WINDOW)
    run_worker(settings, db, clock)
    [row] = [r for r in rows(db, limited["id"]) if r.channel == "whatsapp"]
    assert row.status == "queued"  # rate limited: tried again later
    assert "130429" in (row.last_error or "")

    fake.errors_by_to.clear()
    fake.errors_by_template["pedido_enviado"] = meta_error(132015, "Template is paused")
    clock.advance(timedelta(hours=1))
    run_worker(settings, db, clock)
    [row] = [r for r in rows(db, limited["id"]) if r.channel == "whatsapp"]
    assert row.status == "failed"
    paused = client.get("/api/v1/whatsapp", headers=tenant.headers).json()["paused_templates"]
    assert "132015" in paused["pedido_enviado"]["reason"]


def test_the_store_cannot_opt_in_an_order_without_a_phone(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(
        client,
        tenant,
        customer={
            "name": "Bia",
            "email": "b@example.com",
            "locale": "pt-BR",
            "postal_code": "01310-100",
        },
    )
    response = client.put(
        f"/api/v1/orders/{order['id']}/whatsapp-opt-in", json={}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_phone_number"


def test_settings_are_per_store_and_can_be_removed(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, meta: Meta
) -> None:
    assert client.get("/api/v1/whatsapp", headers=other_tenant.headers).status_code == 404
    assert client.delete("/api/v1/whatsapp", headers=other_tenant.headers).status_code == 404
    assert client.delete("/api/v1/whatsapp", headers=tenant.headers).status_code == 204
    assert client.get("/api/v1/whatsapp", headers=tenant.headers).status_code == 404
    bad = client.put(
        "/api/v1/whatsapp",
        json={"phone_number_id": "x", "access_token": "t", "app_secret": "s", "templates": {}},
        headers=tenant.headers,
    )
    assert bad.status_code == 422


def test_analytics_show_each_channel_and_the_wismo_questions_it_left(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    meta: Meta,
    shared_data: Path,
) -> None:
    on_whatsapp = [new_order(client, tenant) for _ in range(2)]
    by_email = [new_order(client, tenant) for _ in range(4)]
    for order in on_whatsapp:
        opt_in_on_the_page(client, order)
    for order in on_whatsapp + by_email:
        push(client, tenant, order, "shipped", T0)
    clock.advance(AFTER_WINDOW)
    run_worker(meta.settings, db, clock)  # no SMTP configured: e-mail is suppressed, not sent
    wamid = next(r.reference for r in rows(db, on_whatsapp[0]["id"]) if r.status == "sent")
    meta.post(client, status_callback(shared_data, str(wamid), "read", 1795000200))
    for order, kind in [
        (by_email[0], "where_is_it"),
        (by_email[1], "delay"),
        (by_email[1], "return"),
    ]:
        response = client.post(
            "/api/v1/inquiries",
            json={"order_id": order["id"], "type": kind, "subject": "Cadê?"},
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text

    figures = client.get(
        "/api/v1/analytics/channels",
        params={"from": "2026-11-01", "to": "2026-12-01"},
        headers=tenant.headers,
    ).json()["channels"]
    by_channel = {f["channel"]: f for f in figures}
    assert by_channel["whatsapp"] == {
        "channel": "whatsapp",
        "sent": 2,
        "delivered": 1,
        "read": 1,
        "failed": 0,
        "orders": 2,
        "wismo": 0,
        "wismo_per_100_orders": 0.0,
    }
    assert by_channel["none"]["orders"] == 4
    assert by_channel["none"]["wismo"] == 2  # the return question is not a WISMO
    assert by_channel["none"]["wismo_per_100_orders"] == 50.0
    assert by_channel["email"]["delivered"] is None
    assert by_channel["push"]["orders"] == 0
    assert by_channel["push"]["wismo_per_100_orders"] is None


def template_event(data: Path, file: str, **changes: str) -> bytes:
    payload = json.loads((data / "payloads/whatsapp/webhooks" / file).read_text())
    payload["entry"][0]["changes"][0]["value"].update(changes)
    return json.dumps(payload).encode()


def test_a_template_meta_pauses_or_reclassifies_stops_visibly_until_approved_again(
    client: TestClient, tenant: Tenant, meta: Meta, shared_data: Path
) -> None:
    def paused() -> dict[str, Any]:
        body = client.get("/api/v1/whatsapp", headers=tenant.headers).json()
        result: dict[str, Any] = body["paused_templates"]
        return result

    rejected = "message_template_status_update_rejected.json"
    meta.post(client, template_event(shared_data, rejected, message_template_name="pedido_enviado"))
    assert "rejected (INVALID_FORMAT)" in paused()["pedido_enviado"]["reason"]
    reclassified = template_event(
        shared_data, "template_category_update.json", message_template_name="pedido_entregue"
    )
    meta.post(client, reclassified)
    assert paused()["pedido_entregue"]["reason"] == "Meta: template reclassified as MARKETING"
    approved = template_event(
        shared_data, rejected, message_template_name="pedido_enviado", event="APPROVED"
    )
    assert meta.post(client, approved).json()["templates"] == 1
    assert set(paused()) == {"pedido_entregue"}
    # A template the store does not use here changes nothing.
    other = template_event(shared_data, rejected, message_template_name="abandoned_cart")
    assert meta.post(client, other).json()["templates"] == 0


def test_whatsapp_news_at_night_waits_for_the_morning(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock, meta: Meta
) -> None:
    order = new_order(client, tenant)  # São Paulo, UTC−3
    opt_in_on_the_page(client, order)
    clock.advance(timedelta(hours=13, minutes=30))  # 01:30 UTC = 22:30 in São Paulo
    push(client, tenant, order, "shipped", "2026-11-23T22:20:00-03:00")
    [row] = [r for r in rows(db, order["id"]) if r.channel == "whatsapp"]
    assert row.status == "queued"
    assert row.next_attempt_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 08:00 local
    assert run_worker(meta.settings, db, clock) == 0
    assert meta.fake.sent == []
