"""The worker against real peers: aiosmtpd, and HTTP receivers on loopback.

Time only moves when the test says so (``FixedClock``); retries become due by
advancing it, never by sleeping.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.notifications.tasks import Notifier
from rumbo.reactions import subscribe_all
from tests.conftest import Tenant

from .conftest import HttpServer, Reply, Request, Responder, SmtpHandler, free_port
from .outbox_support import new_order, push, rows, run_worker, summary

StartSmtp = Callable[..., tuple[Controller, SmtpHandler]]
StartHttp = Callable[[Responder], HttpServer]
T0 = "2026-11-23T08:00:00-03:00"
AFTER_WINDOW = timedelta(minutes=6)


def with_smtp(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})


def at(minutes: int) -> str:
    return T0.replace("08:00", f"{8 + minutes // 60:02d}:{minutes % 60:02d}")


def add_webhook(client: TestClient, tenant: Tenant, url: str) -> dict[str, Any]:
    """An endpoint, and rules that only notify webhooks (no e-mail rows in the way)."""
    kinds = ["payment_confirmed", "shipped", "in_transit", "exception", "delivered"]
    rules = [{"kind": kind, "channels": ["webhook"]} for kind in kinds]
    client.put("/api/v1/notification-rules", json={"rules": rules}, headers=tenant.headers)
    response = client.post("/api/v1/webhooks", json={"url": url}, headers=tenant.headers)
    assert response.status_code == 201
    endpoint: dict[str, Any] = response.json()
    return endpoint


def test_exactly_one_email_per_status_reaches_a_real_smtp_server(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    smtp_server: StartSmtp,
) -> None:
    controller, handler = smtp_server()
    settings = with_smtp(settings, int(controller.port))
    order = new_order(client, tenant)
    for minute, status in enumerate(["payment_confirmed", "shipped", "delivered"]):
        body = push(client, tenant, order, status, at(minute * 30))
        client.post("/api/v1/events", json=body, headers=tenant.headers)  # a duplicate
        clock.advance(AFTER_WINDOW)
        assert run_worker(settings, db, clock) == 1
        assert run_worker(settings, db, clock) == 0  # nothing left to send

    subjects = []
    for received in handler.received:
        mail = email.message_from_bytes(received.content, policy=email.policy.default)
        subjects.append(mail["Subject"])
        assert received.rcpt_tos == [order["customer"]["email"]]
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = mail["List-Unsubscribe"].strip("<>")
        assert unsubscribe.startswith("http://rumbo.test/unsubscribe/")
    code = order["tracking_code"]
    assert subjects == [
        f"Pagamento confirmado do pedido {code}",
        f"Seu pedido {code} foi enviado",
        f"Seu pedido {code} foi entregue",
    ]
    assert [r.status for r in rows(db)] == ["sent"] * 3
    assert all(r.reference and r.reference.startswith("<") for r in rows(db))

    # The header's link works with one POST (RFC 8058), and the shopper hears no more.
    path = unsubscribe.removeprefix("http://rumbo.test")
    assert client.post(path, content=b"List-Unsubscribe=One-Click").status_code == 200
    client.put(
        "/api/v1/notification-rules",
        json={"rules": [{"kind": "returned", "channels": ["email"]}]},
        headers=tenant.headers,
    )
    clock.advance(timedelta(hours=3))  # the return is scanned later that day
    push(client, tenant, order, "returned", at(200))
    assert summary(db)[-1] == ("returned", "email", "suppressed", "opted_out")


def test_smtp_down_then_back_delivers_later_and_once(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock, settings: Settings
) -> None:
    port = free_port()
    settings = with_smtp(settings, port)
    order = new_order(client, tenant)
    push(client, tenant, order, "shipped", at(0))
    clock.advance(AFTER_WINDOW)

    run_worker(settings, db, clock)  # nobody listens

    [row] = rows(db)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error is not None
    assert "SMTP delivery failed" in row.last_error
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > clock.now()
    assert run_worker(settings, db, clock) == 0  # not due yet

    handler = SmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(timedelta(seconds=10))
        assert run_worker(settings, db, clock) == 1
        clock.advance(timedelta(hours=1))
        assert run_worker(settings, db, clock) == 0
    finally:
        controller.stop()
    assert len(handler.received) == 1
    [row] = rows(db)
    assert (row.status, row.attempts) == ("sent", 2)


def failing_then_ok(failures: int, mode: str, server: list[HttpServer]) -> Responder:
    seen: list[str] = []

    def respond(request: Request) -> Reply | None:
        seen.append(request.headers["webhook-id"])
        if len(seen) <= failures:
            if mode == "500":
                return Reply(500, b"oops")
            if mode == "closed":
                return None
            server[0].release.wait(timeout=5)  # "timeout": answer long after the client gave up
            return Reply(200)
        return Reply(204)

    return respond


@pytest.mark.parametrize("mode", ["500", "timeout", "closed"])
def test_a_failing_webhook_receiver_is_retried_with_the_same_id(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
    mode: str,
) -> None:
    holder: list[HttpServer] = []
    server = http_server(failing_then_ok(2, mode, holder))
    holder.append(server)
    add_webhook(client, tenant, f"{server.url}/hooks")
    order = new_order(client, tenant)
    push(client, tenant, order, "in_transit", at(0))

    for _ in range(3):
        # Long enough for a prompt answer on a loaded machine; the "timeout" receiver
        # holds its failing answers for 5 s, so those still time out.
        run_worker(settings, db, clock, webhook_timeout=1.0)
        clock.advance(timedelta(hours=1))

    [row] = rows(db)
    assert (row.status, row.attempts) == ("sent", 3)
    ids = {request.headers["webhook-id"] for request in server.requests}
    assert ids == {f"msg_{row.id}"}
    assert len(server.requests) == 3


def test_a_worker_killed_mid_delivery_is_replaced_and_the_webhook_id_is_kept(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    server = http_server(lambda request: Reply(200))
    add_webhook(client, tenant, server.url)
    order = new_order(client, tenant)
    push(client, tenant, order, "shipped", at(0))

    async def die_after_sending() -> list[Any]:
        dying = Notifier(settings, db, clock=clock, name="dying")
        jobs = dying.claim()
        outcomes = [await dying._deliver(job) for job in jobs]  # sent, never recorded
        await dying.aclose()
        return outcomes

    late_outcomes = asyncio.run(die_after_sending())
    assert rows(db)[0].status == "sending"
    assert run_worker(settings, db, clock, name="other") == 0  # the lease still holds

    clock.advance(timedelta(seconds=settings.notification_lease_seconds + 1))
    assert run_worker(settings, db, clock, name="other") == 1

    [row] = rows(db)
    assert (row.status, row.attempts, row.locked_by) == ("sent", 2, None)
    first, second = server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{row.id}"
    # The dead worker's late report is ignored: its lease is gone.
    Notifier(settings, db, clock=clock, name="dying").record(late_outcomes)
    assert rows(db)[0].status == "sent"


def test_a_poisoned_message_does_not_block_the_others(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    smtp_server: StartSmtp,
) -> None:
    bad = "ninguem@example.com"
    controller, handler = smtp_server(SmtpHandler(refuse={bad: "550 5.1.1 no such user"}))
    settings = with_smtp(settings, int(controller.port))
    poisoned = new_order(client, tenant, customer={"email": bad, "locale": "es"})
    fine = [new_order(client, tenant) for _ in range(3)]
    for order in [poisoned, *fine]:
        push(client, tenant, order, "shipped", at(0))
    clock.advance(AFTER_WINDOW)

    assert run_worker(settings, db, clock) == 4

    by_order = {r.order_id: r for r in rows(db)}
    assert by_order[poisoned["id"]].status == "failed"
    assert "550" in (by_order[poisoned["id"]].last_error or "")
    assert [by_order[o["id"]].status for o in fine] == ["sent"] * 3
    assert len(handler.received) == 3


def test_a_channel_without_configuration_is_suppressed_visibly(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock, settings: Settings
) -> None:
    order = new_order(client, tenant)
    push(client, tenant, order, "shipped", at(0))
    clock.advance(AFTER_WINDOW)

    run_worker(settings, db, clock)  # no RUMBO_SMTP_HOST

    listed = client.get(f"/api/v1/orders/{order['id']}/notifications", headers=tenant.headers)
    [message] = listed.json()
    assert (message["status"], message["suppressed_reason"]) == (
        "suppressed",
        "channel_not_configured",
    )


def test_410_disables_the_endpoint_until_re_enabled_and_replayed(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    answers = [Reply(410, b"gone")]
    server = http_server(lambda request: answers.pop() if answers else Reply(200))
    endpoint = add_webhook(client, tenant, server.url)
    order = new_order(client, tenant)
    push(client, tenant, order, "shipped", at(0))

    run_worker(settings, db, clock)

    [row] = rows(db)
    assert row.status == "failed"
    [listed] = client.get("/api/v1/webhooks", headers=tenant.headers).json()
    assert listed["enabled"] is False
    assert "410" in listed["disabled_reason"]
    push(client, tenant, order, "delivered", at(60))
    run_worker(settings, db, clock)
    assert summary(db)[-1] == ("delivered", "webhook", "suppressed", "endpoint_disabled")

    enabled = client.patch(
        f"/api/v1/webhooks/{endpoint['id']}", json={"enabled": True}, headers=tenant.headers
    )
    assert enabled.json()["enabled"] is True
    assert (enabled.json()["disabled_reason"], enabled.json()["disabled_at"]) == (None, None)
    [listed] = client.get("/api/v1/webhooks", headers=tenant.headers).json()
    assert listed["enabled"] is True
    assert (listed["disabled_reason"], listed["disabled_at"]) == (None, None)
    replayed = client.post(f"/api/v1/webhooks/deliveries/{row.id}/replay", headers=tenant.headers)
    assert replayed.status_code == 200, replayed.text
    run_worker(settings, db, clock)
    assert rows(db)[0].status == "sent"
    assert [r.headers["webhook-id"] for r in server.requests] == [f"msg_{row.id}"] * 2


def test_the_merge_window_is_the_operators_choice(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    smtp_server: StartSmtp,
) -> None:
    controller, handler = smtp_server()
    settings = with_smtp(settings, int(controller.port))
    order = new_order(client, tenant)
    push(client, tenant, order, "payment_confirmed", at(0))
    assert run_worker(settings, db, clock) == 0  # waits the default five minutes
    subscribe_all(merge_seconds=0)  # RUMBO_NOTIFICATION_MERGE_SECONDS=0
    try:
        push(client, tenant, order, "shipped", at(1))
        assert run_worker(settings, db, clock) == 1  # at once, without the clock moving
    finally:
        subscribe_all(settings.notification_merge_seconds)
    assert len(handler.received) == 1


def test_after_a_410_the_rest_of_the_batch_is_not_sent_to_that_endpoint(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    gone = http_server(lambda request: Reply(410, b"gone"))
    alive = http_server(lambda request: Reply(204))
    add_webhook(client, tenant, gone.url)
    add_webhook(client, tenant, alive.url)
    for n in range(4):
        push(client, tenant, new_order(client, tenant), "shipped", at(n))

    assert run_worker(settings, db, clock) == 8  # one batch: four news for each endpoint

    assert len(gone.requests) == 1
    assert len(alive.requests) == 4
    outcomes = sorted((r.status, r.suppressed_reason) for r in rows(db))
    assert (
        outcomes
        == [("failed", None)] + [("sent", None)] * 4 + [("suppressed", "endpoint_disabled")] * 3
    )


def test_an_endpoint_failing_for_five_days_is_disabled(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    server = http_server(lambda request: Reply(503))
    add_webhook(client, tenant, server.url)
    order = new_order(client, tenant)
    push(client, tenant, order, "shipped", at(0))
    run_worker(settings, db, clock)
    for day in range(1, 6):
        clock.advance(timedelta(days=1))
        push(client, tenant, order, ["in_transit", "exception"][day % 2], at(60 * day))
        run_worker(settings, db, clock)
    [listed] = client.get("/api/v1/webhooks", headers=tenant.headers).json()
    assert listed["enabled"] is False
    assert listed["disabled_reason"] == "every delivery failed for 5 days"
