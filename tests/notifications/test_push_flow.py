"""Web Push end to end: a device subscribes after the privacy gate, the worker pushes the
news, and a subscription the push service no longer knows is removed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.models import PushSubscription
from rumbo.notifications.channels.push import VapidKey
from tests.conftest import Tenant

from .conftest import HttpServer, Responder
from .fake_push import FakePushService
from .outbox_support import new_order, push, run_worker, summary

StartHttp = Callable[[Responder], HttpServer]
T0 = "2026-11-23T09:00:00-03:00"
AFTER_WINDOW = timedelta(minutes=6)
VAPID = VapidKey.generate()


def start(http_server: StartHttp, clock: FixedClock) -> FakePushService:
    service = FakePushService(clock=clock.now)
    service.url = http_server(service).url
    return service


def gate(client: TestClient, order: dict[str, Any]) -> dict[str, str]:
    code = order["tracking_code"]
    token = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "01310-100"}).json()[
        "token"
    ]
    return {"X-Tracking-Token": token}


def subscribe(
    client: TestClient, order: dict[str, Any], device: dict[str, Any], headers: dict[str, str]
) -> None:
    path = f"/api/v1/track/{order['tracking_code']}/push-subscriptions"
    response = client.post(path, json={**device, "language": "es"}, headers=headers)
    assert response.status_code == 201, response.text


def devices(db: Database) -> int:
    with db.session(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(PushSubscription)) or 0)


def test_each_subscribed_device_gets_the_news_once_and_dead_ones_are_forgotten(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    service = start(http_server, clock)
    settings = settings.model_copy(update={"vapid_private_key": VAPID})
    rules = [{"kind": k, "channels": ["email", "push"]} for k in ("shipped", "delivered")]
    client.put("/api/v1/notification-rules", json={"rules": rules}, headers=tenant.headers)
    order = new_order(client, tenant)
    phone, laptop = service.subscribe(), service.subscribe()
    path = f"/api/v1/track/{order['tracking_code']}/push-subscriptions"
    assert client.post(path, json=phone).status_code == 401  # the privacy gate first
    headers = gate(client, order)
    subscribe(client, order, phone, headers)
    subscribe(client, order, phone, headers)  # the same device again: still one
    subscribe(client, order, laptop, headers)
    assert devices(db) == 2

    push(client, tenant, order, "shipped", T0)
    clock.advance(AFTER_WINDOW)
    assert run_worker(settings, db, clock) == 1
    assert sorted(summary(db, order["id"])) == [
        ("shipped", "email", "suppressed", "duplicate"),
        ("shipped", "push", "sent", None),
    ]
    assert service.refused == []
    assert len(service.received) == 2
    # Each device in the language its page had (both subscribed from a page in Spanish).
    assert {shown["body"] for _, shown in service.received} == {
        f"Tu pedido {order['tracking_code']} fue enviado"
    }

    service.gone.add(laptop["endpoint"].removeprefix(service.url))
    clock.advance(timedelta(hours=2))
    push(client, tenant, order, "delivered", "2026-11-23T10:30:00-03:00")
    clock.advance(AFTER_WINDOW)
    run_worker(settings, db, clock)
    assert devices(db) == 1  # 410: the laptop's subscription is removed
    assert len(service.received) == 3

    stop = client.delete(path, params={"endpoint": phone["endpoint"]}, headers=headers)
    assert stop.status_code == 204
    assert devices(db) == 0
    again = client.delete(path, params={"endpoint": phone["endpoint"]}, headers=headers)
    assert again.status_code == 404


def test_push_without_a_vapid_key_is_suppressed_visibly(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    service = start(http_server, clock)
    client.put(
        "/api/v1/notification-rules",
        json={"rules": [{"kind": "shipped", "channels": ["push"]}]},
        headers=tenant.headers,
    )
    order = new_order(client, tenant)
    subscribe(client, order, service.subscribe(), gate(client, order))
    push(client, tenant, order, "shipped", T0)
    clock.advance(AFTER_WINDOW)
    run_worker(settings, db, clock)
    assert summary(db, order["id"]) == [("shipped", "push", "suppressed", "channel_not_configured")]
    assert client.get("/api/v1/push/key").json() == {"public_key": None}


def test_malformed_subscriptions_are_refused(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = new_order(client, tenant)
    headers = gate(client, order)
    path = f"/api/v1/track/{order['tracking_code']}/push-subscriptions"
    good = {
        "endpoint": "https://push.example.net/p/abc",
        "keys": {"p256dh": "B" * 87, "auth": "A" * 22},
    }
    for bad in [
        {**good, "endpoint": "javascript:alert(1)"},
        {**good, "keys": {"p256dh": "short", "auth": "A" * 22}},
        {**good, "keys": {"p256dh": "B" * 87}},
        {**good, "extra": 1},
    ]:
        response = client.post(path, json=bad, headers=headers)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"
    assert devices(db) == 0
