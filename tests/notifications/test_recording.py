"""A worker records each delivery as soon as its outcome is known, not after the batch.

Delivery is at least once: a worker that dies mid-batch leaves what it sent but did
not record to be sent again. Recording as outcomes arrive keeps that to the messages
in flight, not the whole claimed batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import orjson
from fastapi.testclient import TestClient

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from tests.conftest import Tenant

from .conftest import HttpServer, Reply, Request, Responder
from .outbox_support import new_order, push, rows, run_worker
from .test_worker import add_webhook, at

StartHttp = Callable[[Responder], HttpServer]
PATIENCE = 5.0  # seconds the slow answer waits for the fast one (the webhook timeout is 10)


def _status_of(db: Database, order_id: int) -> str:
    [row] = rows(db, order_id)
    return row.status


def test_a_fast_delivery_is_recorded_while_a_slow_one_is_in_flight(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    fast, slow = new_order(client, tenant), new_order(client, tenant)
    seen_while_in_flight: list[str] = []

    def respond(request: Request) -> Reply:
        order_id = orjson.loads(request.body)["data"]["order"]["id"]
        if order_id == slow["id"]:
            # Hold this answer until the other message is recorded (or give up).
            recorded = threading.Event()
            for _ in range(int(PATIENCE / 0.02)):
                if _status_of(db, fast["id"]) == "sent":
                    break
                recorded.wait(0.02)
            seen_while_in_flight.append(_status_of(db, fast["id"]))
        return Reply(200)

    server = http_server(respond)
    add_webhook(client, tenant, server.url)
    push(client, tenant, fast, "shipped", at(0))
    push(client, tenant, slow, "shipped", at(0))

    assert run_worker(settings, db, clock) == 2

    assert seen_while_in_flight == ["sent"]
    assert [r.status for r in rows(db)] == ["sent", "sent"]
    assert len(server.requests) == 2
