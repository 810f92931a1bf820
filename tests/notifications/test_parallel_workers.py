"""Several workers over one outbox never send a message twice (SKIP LOCKED on PostgreSQL,
the writer lock on SQLite), counted at a real HTTP receiver."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.models import OutboxMessage
from rumbo.notifications.tasks import Notifier
from tests.conftest import NOW, Tenant

from .conftest import HttpServer, Reply, Responder
from .outbox_support import new_order, rows

StartHttp = Callable[[Responder], HttpServer]
MESSAGES = 300


def queue_webhooks(db: Database, tenant: Tenant, order_id: int, endpoint_id: int, n: int) -> None:
    with db.session() as session:
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "merchant_id": tenant.merchant_id,
                    "order_id": order_id,
                    "endpoint_id": endpoint_id,
                    "channel": "webhook",
                    "kind": "in_transit",
                    "idempotency_key": f"parallel:{i}",
                    "payload": {"status": "in_transit", "status_at": NOW.isoformat(), "n": i},
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                }
                for i in range(n)
            ],
        )


def test_two_workers_in_parallel_never_send_a_message_twice(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    http_server: StartHttp,
) -> None:
    server = http_server(lambda request: Reply(204))
    endpoint = client.post(
        "/api/v1/webhooks", json={"url": server.url}, headers=tenant.headers
    ).json()
    order = new_order(client, tenant)
    queue_webhooks(db, tenant, order["id"], endpoint["id"], MESSAGES)
    small_batches = settings.model_copy(
        update={"notification_batch_size": 20, "notification_concurrency": 4}
    )

    async def drain(name: str) -> int:
        notifier = Notifier(small_batches, db, clock=clock, name=name)
        total = 0
        try:
            while claimed := await notifier.run_once():
                total += claimed
        finally:
            await notifier.aclose()
        return total

    async def both() -> list[int]:
        return list(await asyncio.gather(drain("a"), drain("b")))

    claimed = asyncio.run(both())
    assert sum(claimed) >= MESSAGES
    assert min(claimed) > 0  # both took part
    for _ in range(3):  # a loaded receiver may refuse a connection: those are retried
        if {r.status for r in rows(db)} == {"sent"}:
            break
        clock.advance(timedelta(minutes=1))
        asyncio.run(both())

    outbox = {f"msg_{r.id}": r for r in rows(db)}
    assert {r.status for r in outbox.values()} == {"sent"}
    sent = Counter(request.headers["webhook-id"] for request in server.requests)
    assert set(sent) == set(outbox)
    # Never twice from two workers; a second request only after a failed attempt.
    assert all(n <= outbox[hook].attempts for hook, n in sent.items())
