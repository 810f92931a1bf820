"""An ingestion batch costs a fixed number of statements, whatever its size.

Each statement is a round trip to PostgreSQL inside the writer's transaction, so a
count that grows with the batch would put a ceiling on ingestion throughput.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
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


def _events_read(session: Any) -> int:
    """Events this transaction has read, by scans and index lookups alike."""
    return int(
        session.connection()
        .exec_driver_sql(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
            " FROM pg_stat_xact_user_tables"
            " WHERE schemaname = current_schema() AND relname = 'events'"
        )
        .scalar_one()
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_repeats_are_found_by_their_key_not_by_reading_the_history(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    """A repeated event (a carrier retrying its webhook) is looked up by its unique key:
    what a batch reads does not grow with the events stored before it. The history is
    written just before, in one go, so the planner's statistics lag the table as they do
    in a peak; the batches run in one transaction, past psycopg's prepare threshold, so
    the plans PostgreSQL keeps for prepared statements are measured too."""
    orders = _orders(client, tenant, 200, "PH")
    chatter = [  # what carriers say along the way without moving a status
        NormalizedEvent(
            source="carrier",
            event_id=f"{o['id']}-scan-{k}",
            status=None,
            occurred_at=NOW - timedelta(hours=20, minutes=k),
            raw="{}",
            tracking_code=o["tracking_code"],
        )
        for o in orders
        for k in range(100)
    ]
    history = [
        _event(o, status, NOW - timedelta(hours=10 - step), n)
        for step, status in enumerate((Status.PREPARING, Status.SHIPPED))
        for n, o in enumerate(orders)
    ]
    with db.session() as session:  # 20,400 events
        for start in range(0, len(chatter), 5000):
            ingest(session, tenant.merchant_id, list(enumerate(chatter[start : start + 5000])), NOW)
        ingest(session, tenant.merchant_id, list(enumerate(history)), NOW)
    with db.session() as session:
        before = _events_read(session)
        touched: dict[int, int] = {}
        for batch in range(8):
            news = []
            for n, o in enumerate(orders[batch * 10 : batch * 10 + 20]):
                times = touched[o["id"]] = touched.get(o["id"], 0) + 1
                status = Status.OUT_FOR_DELIVERY if times == 1 else Status.DELIVERED
                news.append(_event(o, status, NOW - timedelta(hours=2, minutes=-batch), n))
            repeats = history[batch * 20 : batch * 20 + 20]
            outcome = ingest(session, tenant.merchant_id, list(enumerate(news + repeats)), NOW)
            assert [r.outcome for r in outcome.results] == ["accepted"] * 20 + ["duplicate"] * 20
        read = _events_read(session) - before
    # 8 batches of 20 new events and 20 repeats: each repeat read once by the insert's
    # conflict check and once by its lookup. A scan of the store's events reads 20,000.
    assert read <= 8 * 20 * 2, read
