"""An ingestion batch costs a fixed number of statements, whatever its size.

Each statement is a round trip to PostgreSQL inside the writer's transaction, so a
count that grows with the batch would put a ceiling on ingestion throughput.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.events.service import NormalizedEvent, ingest
from rumbo.events.status import Status
from rumbo.notifications.outbox import QUEUED, SUPPRESSED
from tests.conftest import NOW, Tenant, statements_sent
from tests.factories import order_body


def _orders(client: TestClient, tenant: Tenant, count: int, prefix: str) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
        if n % 2:
            client.post(
                f"/api/v1/orders/{order['id']}/shipments",
                json={"carrier": "correios", "tracking_number": f"{prefix}{n:05d}BR"},
                headers=tenant.headers,
            )
            order["parcel"] = f"{prefix}{n:05d}BR"
        made.append(order)
    return made


def _event(order: dict[str, Any], status: Status, at: datetime, how: int) -> NormalizedEvent:
    """An event for ``order`` addressed by its tracking code, external id or parcel."""
    address: dict[str, Any] = {"tracking_code": order["tracking_code"]}
    if how % 3 == 1:
        address = {"external_id": order["external_id"]}
    elif how % 3 == 2 and "parcel" in order:
        address = {"carrier": "correios", "tracking_number": order["parcel"]}
    return NormalizedEvent(
        source="carrier",
        event_id=f"{order['id']}-{status.value}",
        status=status,
        occurred_at=at,
        raw=orjson.dumps({"status": status.value}).decode(),
        **address,
    )


def _statements(db: Database, tenant: Tenant, events: list[NormalizedEvent]) -> int:
    with statements_sent(db) as sent, db.session() as session:
        ingest(session, tenant.merchant_id, list(enumerate(events)), NOW)
    return len(sent)


def _journey(db: Database, tenant: Tenant, orders: list[dict[str, Any]]) -> list[int]:
    """Statements per batch: news for every order, then news that coalesces with it
    (plus repeats of stored events), then events on orders of no interest."""
    shipped = [_event(o, Status.SHIPPED, NOW - timedelta(hours=3), n) for n, o in enumerate(orders)]
    out = [
        _event(o, Status.OUT_FOR_DELIVERY, NOW - timedelta(hours=2), n + 1)
        for n, o in enumerate(orders)
    ]
    return [
        _statements(db, tenant, shipped),
        _statements(db, tenant, out + shipped[: len(shipped) // 2]),
    ]


def test_statements_per_batch_do_not_grow_with_its_size(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    small = _journey(db, tenant, _orders(client, tenant, 10, "PS"))
    large = _journey(db, tenant, _orders(client, tenant, 100, "PL"))

    assert large == small
    # The second batch coalesced a burst per order and channel: one row queued, one
    # superseded for each shopper e-mail.
    with db.reader() as conn:
        rows = conn.exec_driver_sql(
            "SELECT status, count(*) FROM outbox_messages WHERE channel = 'email' GROUP BY status"
        ).all()
    assert dict(rows) == {QUEUED: 110, SUPPRESSED: 110}
