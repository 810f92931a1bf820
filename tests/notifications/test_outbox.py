"""The outbox: rows written with the events, once per piece of news, restrained, visible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.events.service import NormalizedEvent, ingest
from rumbo.events.status import Status
from rumbo.kit.clock import FixedClock
from rumbo.models import OutboxMessage
from rumbo.notifications.message import Kind
from rumbo.notifications.outbox import idempotency_key
from rumbo.notifications.restraint import Channel
from tests.conftest import NOW, Tenant

from .outbox_support import new_order, push, rows, summary

T0 = "2026-11-23T08:00:00-03:00"


def at(minutes: float) -> str:
    return (datetime.fromisoformat(T0) + timedelta(minutes=minutes)).isoformat()


def test_a_status_change_queues_an_email_in_the_same_transaction(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = new_order(client, tenant)
    assert summary(db) == []  # "pending" is not news

    push(client, tenant, order, "shipped", at(0))

    [row] = rows(db)
    assert (row.kind, row.channel, row.status) == ("shipped", "email", "queued")
    assert row.idempotency_key == idempotency_key(
        tenant.merchant_id, order["id"], Kind.SHIPPED, Channel.EMAIL
    )
    assert row.payload["status"] == "shipped"
    assert row.payload["previous_status"] == "pending"
    # Held for the coalescing window: a burst of news becomes one message.
    assert row.next_attempt_at == NOW + timedelta(minutes=5)


def test_a_rolled_back_ingest_leaves_no_outbox_row(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = new_order(client, tenant)
    event = NormalizedEvent(
        source="carrier",
        event_id="ev-rollback",
        status=Status.SHIPPED,
        occurred_at=datetime(2026, 11, 23, 11, tzinfo=UTC),
        raw="{}",
        tracking_code=order["tracking_code"],
    )

    def ingest_then_fail() -> None:
        with db.session() as session:
            outcome = ingest(session, tenant.merchant_id, [(0, event)], NOW)
            assert outcome.changes
            assert len(rows_in(session)) == 1  # written, inside the transaction
            raise RuntimeError("the request failed after ingesting")

    with pytest.raises(RuntimeError, match="failed after ingesting"):
        ingest_then_fail()
    assert rows(db) == []
    with db.session() as session:  # and committed, it is there
        ingest(session, tenant.merchant_id, [(0, event)], NOW)
    assert len(rows(db)) == 1


def rows_in(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage)))


def test_duplicates_two_sources_and_a_status_reached_again_notify_once(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock
) -> None:
    order = new_order(client, tenant)
    first = push(client, tenant, order, "out_for_delivery", at(0))
    client.post("/api/v1/events", json=first, headers=tenant.headers)  # replayed event
    push(client, tenant, order, "out_for_delivery", at(1), source="device")  # second source
    clock.advance(timedelta(hours=1))
    push(client, tenant, order, "delivery_failed", at(60))  # undone…
    clock.advance(timedelta(hours=1))
    push(client, tenant, order, "out_for_delivery", at(120))  # …and reached again

    kinds = [(kind, channel) for kind, channel, _, _ in summary(db)]
    assert kinds == [("out_for_delivery", "email"), ("delivery_failed", "email")]


def test_news_in_a_burst_is_coalesced_into_the_furthest(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock
) -> None:
    order = new_order(client, tenant)
    push(client, tenant, order, "payment_confirmed", at(0))
    clock.advance(timedelta(minutes=2))
    push(client, tenant, order, "shipped", at(2))

    assert summary(db) == [
        ("payment_confirmed", "email", "suppressed", "superseded"),
        ("shipped", "email", "queued", None),
    ]
    # Sent once the burst (started at NOW) is settled.
    assert rows(db)[1].next_attempt_at == NOW + timedelta(minutes=5)

    clock.advance(timedelta(minutes=10))  # a new burst: sent on its own
    push(client, tenant, order, "delivered", at(12))
    assert summary(db)[-1] == ("delivered", "email", "queued", None)
    assert rows(db)[1].status == "queued"


def test_sms_due_at_night_waits_for_the_morning_in_the_destination_zone(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock
) -> None:
    response = client.put(
        "/api/v1/notification-rules",
        json={"rules": [{"kind": "shipped", "channels": ["sms"]}]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    order = new_order(client, tenant)  # São Paulo, UTC−3
    clock.advance(timedelta(hours=13, minutes=30))  # 01:30 UTC = 22:30 in São Paulo
    push(client, tenant, order, "shipped", at(0))

    [row] = rows(db)
    assert (row.channel, row.status) == ("sms", "queued")
    assert row.next_attempt_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 08:00 local


def test_rules_default_then_replaced(client: TestClient, tenant: Tenant, db: Database) -> None:
    got = client.get("/api/v1/notification-rules", headers=tenant.headers).json()
    assert got["default"] is True
    rules = {r["kind"]: r["channels"] for r in got["rules"]}
    assert rules["shipped"] == ["email", "push", "webhook", "whatsapp"]
    assert rules["in_transit"] == ["webhook"]

    put = client.put(
        "/api/v1/notification-rules",
        json={"rules": [{"kind": "delivered", "channels": ["email", "sms"]}]},
        headers=tenant.headers,
    )
    assert put.json() == {
        "rules": [{"kind": "delivered", "channels": ["email", "sms"]}],
        "default": False,
    }
    order = new_order(client, tenant)
    push(client, tenant, order, "shipped", at(0))  # no rule for it any more
    assert summary(db) == []
    push(client, tenant, order, "delivered", at(1))
    # The shopper chose nothing: one channel (e-mail), SMS visibly left out.
    assert summary(db) == [
        ("delivered", "email", "queued", None),
        ("delivered", "sms", "suppressed", "duplicate"),
    ]
    assert client.get("/api/v1/notification-rules").status_code == 401


def test_preferences_need_a_verified_visitor_and_turn_channels_off(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = new_order(client, tenant)
    code = order["tracking_code"]
    path = f"/api/v1/track/{code}/preferences"
    assert client.put(path, json={"email": False}).status_code == 401
    token = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "01310-100"})
    headers = {"X-Tracking-Token": token.json()["token"]}

    response = client.put(path, json={"email": False, "language": "es"}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "email": False,
        "sms": None,
        "whatsapp": None,
        "push": None,
        "language": "es",
    }
    push(client, tenant, order, "shipped", at(0))
    assert summary(db) == [("shipped", "email", "suppressed", "opted_out")]


@pytest.mark.parametrize(
    ("locale", "channel", "question", "button", "done"),
    [
        ("es", Channel.EMAIL, "¿Dejar de recibir correos", "Darse de baja", "Listo: no recibirás"),
        ("pt-BR", Channel.SMS, "Parar de receber SMS", "Cancelar inscrição", "Pronto: você"),
        ("en", Channel.EMAIL, "Stop e-mails", "Unsubscribe", "Done: no more e-mails"),
    ],
)
def test_the_unsubscribe_pages_speak_the_shoppers_language(
    client: TestClient,
    tenant: Tenant,
    locale: str,
    channel: Channel,
    question: str,
    button: str,
    done: str,
) -> None:
    from rumbo.notifications.service import UnsubscribeTokens

    order = new_order(
        client,
        tenant,
        customer={"name": "Lucía Pérez", "email": "lucia@example.com", "locale": locale},
    )
    token = UnsubscribeTokens("test-secret").issue(order["id"], channel)
    page = client.get(f"/unsubscribe/{token}", headers={"Accept": "text/html"})
    assert f'<html lang="{locale}">' in page.text
    assert question in page.text
    assert f">{button}</button>" in page.text
    answer = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert f'<html lang="{locale}">' in answer.text
    assert done in answer.text


def test_one_click_unsubscribe_turns_email_off(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    from rumbo.notifications.service import UnsubscribeTokens

    order = new_order(client, tenant)
    token = UnsubscribeTokens("test-secret").issue(order["id"], Channel.EMAIL)

    page = client.get(f"/unsubscribe/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert client.get(f"/unsubscribe/{token}").json() == {
        "unsubscribed": False,
        "channel": "email",
    }
    done = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.json() == {"unsubscribed": True, "channel": "email"}
    assert client.post(f"/unsubscribe/{token[:-2]}xx").status_code == 404

    push(client, tenant, order, "shipped", at(0))
    assert summary(db) == [("shipped", "email", "suppressed", "opted_out")]


def test_an_order_without_an_email_shows_why_nothing_was_sent(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    body_customer = {"name": "Ana", "locale": "pt-BR"}
    order = new_order(client, tenant, customer=body_customer)
    push(client, tenant, order, "shipped", at(0))

    listed = client.get(f"/api/v1/orders/{order['id']}/notifications", headers=tenant.headers)

    assert listed.status_code == 200
    [message] = listed.json()
    assert (message["channel"], message["kind"], message["status"]) == (
        "email",
        "shipped",
        "suppressed",
    )
    assert message["suppressed_reason"] == "no_contact"


def test_notifications_of_another_merchants_order_are_404(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    response = client.get(
        f"/api/v1/orders/{order['id']}/notifications", headers=other_tenant.headers
    )
    assert response.status_code == 404


def test_webhooks_api_shows_the_secret_once(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "https://store.example/hooks", "event_types": ["order.shipped"]},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    [listed] = client.get("/api/v1/webhooks", headers=tenant.headers).json()
    assert "secret" not in listed
    assert listed["enabled"] is True

    bad = client.post(
        "/api/v1/webhooks",
        json={"url": "https://store.example/hooks", "event_types": ["order.teleported"]},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    patched = client.patch(
        f"/api/v1/webhooks/{endpoint['id']}", json={"enabled": False}, headers=tenant.headers
    )
    assert patched.json()["disabled_reason"] == "disabled by the merchant"
    assert (
        client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=tenant.headers).status_code
        == 204
    )
    assert client.get("/api/v1/webhooks", headers=tenant.headers).json() == []


def test_webhook_rows_follow_each_endpoints_event_types(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    every = client.post(
        "/api/v1/webhooks", json={"url": "https://a.example/h"}, headers=tenant.headers
    ).json()
    client.post(
        "/api/v1/webhooks",
        json={"url": "https://b.example/h", "event_types": ["order.delivered"]},
        headers=tenant.headers,
    )
    order = new_order(client, tenant)
    push(client, tenant, order, "in_transit", at(0))

    [row] = rows(db)
    assert (row.kind, row.channel, row.endpoint_id) == ("in_transit", "webhook", every["id"])
    assert row.next_attempt_at == NOW  # stores get every event at once, not coalesced
    assert row.payload["order"] == {
        "id": order["id"],
        "external_id": order["external_id"],
        "tracking_code": order["tracking_code"],
    }


def test_a_may_be_delayed_warning_is_once_per_promise(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    from datetime import date

    from rumbo.notifications.outbox import News, enqueue_news

    order = new_order(client, tenant)
    client.put(
        "/api/v1/notification-rules",
        json={"rules": [{"kind": "may_be_delayed", "channels": ["email"]}]},
        headers=tenant.headers,
    )
    payload = {"status": "in_transit", "status_at": NOW.isoformat()}

    def warn(promise: date) -> int:
        news = News(order["id"], Kind.MAY_BE_DELAYED, payload, promise=promise)
        with db.session() as session:
            return enqueue_news(session, tenant.merchant_id, [news], NOW)

    assert warn(date(2026, 12, 5)) == 1
    assert warn(date(2026, 12, 5)) == 0  # the same promise: already warned
    assert warn(date(2026, 12, 9)) == 1  # a new promise may be broken too
