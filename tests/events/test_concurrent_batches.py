"""Two ingesting transactions on the same orders at once (PostgreSQL: SQLite's write
transaction already keeps every other writer out).

A batch locks the orders it touches, in id order, and holds them to its commit: after
storing its events, or (naming parcels) before looking them up. The rules these tests
hold it to, whatever two batches overlap on and however their
transactions interleave: each order ends with the status a recomputation from all its
stored events gives (the second batch never derives from a state the first has moved
on from), and a parcel both name is registered once.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.events.service import NormalizedEvent, ingest, rederive
from rumbo.events.status import Status
from rumbo.models import Shipment
from tests.conftest import NOW, Tenant, status_rows
from tests.factories import carrier_event, order_body

ORDERS = 3
_ids = itertools.count()

# (order, status or None, hours after the base, copy one of the other batch's events)
_item = st.tuples(
    st.integers(0, ORDERS - 1),
    st.one_of(st.none(), st.sampled_from(list(Status))),
    st.integers(0, 400),
)
_batch = st.lists(_item, min_size=1, max_size=8)


_BASE = datetime(2026, 11, 1, tzinfo=UTC)


def _event(code: str, status: Status | None, hours: int, event_id: str) -> NormalizedEvent:
    return carrier_event(code, event_id, status, _BASE + timedelta(hours=hours))


def _waiting_on_a_lock(db: Database) -> bool:
    with db.reader() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
        ).scalar_one()
    return bool(waiting)


def _overlapping(
    db: Database,
    merchant_id: int,
    first: list[tuple[int, NormalizedEvent]],
    second: list[tuple[int, NormalizedEvent]],
) -> None:
    """``first`` stores its events and holds its transaction open until ``second``'s
    transaction is seen waiting on one of its locks; then both commit."""
    stored = threading.Event()
    failures: list[BaseException] = []

    def run_second() -> None:
        stored.wait(10)
        try:
            with db.session() as session:
                ingest(session, merchant_id, second, NOW)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    thread = threading.Thread(target=run_second)
    thread.start()
    with db.session() as session:
        ingest(session, merchant_id, first, NOW)
        stored.set()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(db):
            assert time.monotonic() < deadline, "the second batch never waited for the first"
            time.sleep(0.01)
    thread.join(30)
    assert not failures, failures


def _status_rows(db: Database, order_id: int) -> tuple[Any, ...]:
    """The order's status columns (``status_rows``), read in a transaction of their own."""
    with db.session(write=False) as session:
        order, _ = status_rows(session, order_id)
    return order


@pytest.fixture
def orders(client: TestClient, tenant: Tenant, settings: Settings) -> list[dict[str, Any]]:
    if settings.is_sqlite:
        pytest.skip("SQLite's write transaction keeps every other writer out")
    return [
        client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
        for _ in range(ORDERS)
    ]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first=_batch, second=_batch, copies=st.lists(st.integers(0, 7), max_size=3))
def test_overlapping_batches_end_where_a_recomputation_does(
    db: Database,
    tenant: Tenant,
    orders: list[dict[str, Any]],
    first: list[tuple[int, Status | None, int]],
    second: list[tuple[int, Status | None, int]],
    copies: list[int],
) -> None:
    run = next(_ids)
    codes = [o["tracking_code"] for o in orders]
    # Both batches touch the first order, so the second must wait for the first.
    a = [(0, Status.IN_TRANSIT, 0), *first]
    b = [(0, Status.SHIPPED, 1), *second]
    batch_a = [(i, _event(codes[o], s, h, f"a-{run}-{i}")) for i, (o, s, h) in enumerate(a)]
    batch_b = [(i, _event(codes[o], s, h, f"b-{run}-{i}")) for i, (o, s, h) in enumerate(b)]
    # Some of the first batch's events sent again in the second: duplicates, stored once.
    for k in copies:
        _, again = batch_a[k % len(batch_a)]
        batch_b.append((len(batch_b), again))
    _overlapping(db, tenant.merchant_id, batch_a, batch_b)

    ids = [o["id"] for o in orders]
    incremental = {oid: _status_rows(db, oid) for oid in ids}
    with db.session() as session:
        rederive(session, ids, NOW)
    assert {oid: _status_rows(db, oid) for oid in ids} == incremental


def test_a_parcel_named_by_two_overlapping_batches_is_registered_once(
    db: Database, tenant: Tenant, orders: list[dict[str, Any]]
) -> None:
    code = orders[0]["tracking_code"]

    def parcel_event(event_id: str, status: Status, hours: int) -> NormalizedEvent:
        event = _event(code, status, hours, event_id)
        return replace(event, carrier="correios", tracking_number="QB987654321BR")

    _overlapping(
        db,
        tenant.merchant_id,
        [(0, parcel_event("p-1", Status.SHIPPED, 1))],
        [(0, parcel_event("p-2", Status.IN_TRANSIT, 2))],
    )
    with db.session(write=False) as session:
        parcels = session.execute(
            select(func.count()).select_from(Shipment).where(Shipment.order_id == orders[0]["id"])
        ).scalar_one()
    assert parcels == 1
    assert _status_rows(db, orders[0]["id"])[0] == Status.IN_TRANSIT.value


def test_a_batch_stores_its_events_before_it_waits_for_an_order(
    db: Database, tenant: Tenant, orders: list[dict[str, Any]]
) -> None:
    """Lock late: a batch waits for another transaction's order lock only once its
    events are stored, to fold them in — not before it has done anything."""
    order_id, code = orders[0]["id"], orders[0]["tracking_code"]
    failures: list[BaseException] = []

    def run_batch() -> None:
        try:
            with db.session() as session:
                event = _event(code, Status.SHIPPED, 1, f"late-{next(_ids)}")
                ingest(session, tenant.merchant_id, [(0, event)], NOW)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    with db.session() as holder:
        holder.execute(
            text("SELECT id FROM orders WHERE id = :id FOR NO KEY UPDATE"), {"id": order_id}
        )
        thread = threading.Thread(target=run_batch)
        thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(db):
            assert time.monotonic() < deadline, "the batch never waited for the order"
            time.sleep(0.01)
        with db.reader() as conn:
            # The waiting transaction already holds the events table's write lock: it
            # inserted its events before asking for the order.
            wrote_events = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE c.relname = 'events' AND l.mode = 'RowExclusiveLock'"
                    " AND l.granted AND a.wait_event_type = 'Lock'"
                )
            ).scalar_one()
        assert wrote_events == 1
    thread.join(30)
    assert not failures, failures
    assert _status_rows(db, order_id)[0] == Status.SHIPPED.value
