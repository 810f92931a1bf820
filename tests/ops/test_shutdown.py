"""Graceful shutdown of the notification worker: a stop lets the batch in flight
finish; a cancellation (the grace period ran out) hands the claimed rows back."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.notifications.tasks import Notifier
from tests.conftest import Tenant
from tests.notifications.conftest import HttpServer, Reply, Request, Responder, http_server  # noqa: F401
from tests.notifications.outbox_support import new_order, push, rows, run_worker
from tests.notifications.test_worker import add_webhook

StartHttp = Callable[[Responder], HttpServer]


async def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_stop_lets_the_delivery_in_flight_finish(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,  # noqa: F811
) -> None:
    def slow(request: Request) -> Reply:
        time.sleep(0.3)
        return Reply(200)

    server = http_server(slow)
    add_webhook(client, tenant, server.url)
    push(client, tenant, new_order(client, tenant), "shipped", "2026-11-23T08:00:00-03:00")

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(Notifier(settings, db, clock=clock, name="w").run(stop))
        await _wait_for(lambda: len(server.requests) == 1)
        stop.set()  # SIGTERM while the receiver is still answering
        await asyncio.wait_for(worker, 10)

    asyncio.run(scenario())
    [row] = rows(db)
    assert (row.status, row.locked_by) == ("sent", None)
    assert len(server.requests) == 1


def test_a_cancelled_worker_releases_what_it_claimed(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,  # noqa: F811
) -> None:
    unblock = threading.Event()

    def hanging_first(request: Request) -> Reply:
        if len(server.requests) == 1:
            unblock.wait(10)
        return Reply(200)

    server = http_server(hanging_first)
    add_webhook(client, tenant, server.url)
    push(client, tenant, new_order(client, tenant), "shipped", "2026-11-23T08:00:00-03:00")

    async def scenario() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(Notifier(settings, db, clock=clock, name="w").run(stop))
        await _wait_for(lambda: len(server.requests) == 1)
        assert rows(db)[0].status == "sending"
        stop.set()
        worker.cancel()  # the grace period is over: the delivery is abandoned
        with contextlib.suppress(asyncio.CancelledError):
            await worker

    asyncio.run(scenario())
    unblock.set()
    [row] = rows(db)
    assert (row.status, row.locked_by, row.locked_until) == ("queued", None, None)
    assert row.next_attempt_at == clock.now()  # due at once, not after the lease
    # Another worker picks it up straight away (no lease to wait out), same webhook id.
    assert run_worker(settings, db, clock, name="other") == 1
    [row] = rows(db)
    assert row.status == "sent"
    first, second = server.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{row.id}"
