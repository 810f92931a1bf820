"""Cached public views: served from memory only while known to be current.

Only PostgreSQL's ``LISTEN`` hears every commit of every process; on SQLite each
lookup checks the order's version, as it does on PostgreSQL while the listener is down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from rumbo.db import Database
from rumbo.kit import setwise
from rumbo.public import service
from rumbo.public.service import PublicViews, TrackTokens
from rumbo.shared.live import channel_for
from tests.conftest import Tenant, statements_sent
from tests.factories import event_body, order_body


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def shipped(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    client.post(
        "/api/v1/events",
        json=event_body(order, status="shipped", occurred_at="2026-11-21T09:00:00-03:00"),
        headers=tenant.headers,
    )
    return order  # type: ignore[no-any-return]


# An order id no order has: a NOTIFY of it marks a point in the channel's stream.
MARKER = 2_147_483_647


def heard_everything_before(app: FastAPI) -> None:
    """Return once this process's listener has heard every NOTIFY committed so far.

    PostgreSQL delivers the notifications of committed transactions in commit order:
    once a marker sent now is heard, the notices of earlier commits (which may arrive
    after this process's own read-your-writes signal) have been heard too."""
    views: PublicViews = app.state.public_views
    heard = threading.Event()
    original = views.changed

    def spy(order_ids: Iterable[int]) -> None:
        ids = list(order_ids)
        original(ids)
        if MARKER in ids:
            heard.set()

    views.changed = spy  # type: ignore[method-assign]
    try:
        db: Database = app.state.db
        with db.engine.begin() as conn:
            conn.execute(
                text("SELECT pg_notify(:channel, :id)"),
                {"channel": channel_for(str(db.engine.url)), "id": str(MARKER)},
            )
        assert heard.wait(10), "the listener never heard the marker"
    finally:
        views.changed = original  # type: ignore[method-assign]


def cached_shipped(client: TestClient, tenant: Tenant, app: FastAPI) -> tuple[dict[str, Any], str]:
    """A shipped order whose view this process holds as current (once LISTEN is up)."""
    order = shipped(client, tenant)
    path = f"/api/v1/track/{order['tracking_code']}"
    views: PublicViews = app.state.public_views
    if app.state.db.engine.dialect.name == "postgresql":
        heard_everything_before(app)
    assert wait_until(
        lambda: (
            client.get(path).status_code == 200 and views.cached(order["tracking_code"]) is not None
        )
    )
    return order, path


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_view_known_current_costs_no_query(
    client: TestClient, tenant: Tenant, app: FastAPI
) -> None:
    db: Database = app.state.db
    order, path = cached_shipped(client, tenant, app)
    with statements_sent(db) as statements:
        for _ in range(5):
            assert client.get(path).json()["status"] == "shipped"
            assert client.get(f"/t/{order['tracking_code']}").status_code == 200
    assert [s for s in statements if "orders" in s] == []
    # This process's own commit reaches the cache before the response: read-your-writes.
    client.post(
        "/api/v1/events",
        json=event_body(order, status="in_transit", occurred_at="2026-11-21T15:00:00-03:00"),
        headers=tenant.headers,
    )
    assert client.get(path).json()["status"] == "in_transit"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_a_change_committed_by_another_process_reaches_the_cache(
    client: TestClient, tenant: Tenant, app: FastAPI
) -> None:
    db: Database = app.state.db
    order, path = cached_shipped(client, tenant, app)
    # Another process: its own connection, its commit announced only through NOTIFY.
    other = create_engine(db.engine.url)
    try:
        with other.begin() as conn:
            conn.execute(
                text(
                    "UPDATE orders SET status = 'in_transit', version = version + 1 WHERE id = :id"
                ),
                {"id": order["id"]},
            )
            conn.execute(
                text("SELECT pg_notify(:channel, :ids)"),
                {"channel": channel_for(str(db.engine.url)), "ids": str(order["id"])},
            )
    finally:
        other.dispose()
    assert wait_until(lambda: client.get(path).json()["status"] == "in_transit", 5.0)


def test_when_the_hub_cannot_hear_every_commit_each_lookup_checks_the_version(
    client: TestClient, tenant: Tenant, app: FastAPI
) -> None:
    order = shipped(client, tenant)
    path = f"/api/v1/track/{order['tracking_code']}"
    views: PublicViews = app.state.public_views
    client.get(path)
    views.listening(False)  # a lost LISTEN connection, or SQLite's polling
    assert views.cached(order["tracking_code"]) is None
    with statements_sent(app.state.db) as statements:
        assert client.get(path).json()["status"] == "shipped"
    assert any("orders" in s for s in statements)


def test_a_rendering_read_before_a_change_was_heard_is_not_trusted(
    client: TestClient, tenant: Tenant, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = shipped(client, tenant)
    db: Database = app.state.db
    views = PublicViews()
    views.listening(True)
    tokens = TrackTokens("secret", 60)

    real_read = setwise.read_together

    def changed_mid_read(conn: Any, reads: Any) -> Any:
        """The order's rows are read, and a change of the order is heard meanwhile."""
        rows = real_read(conn, reads)
        if any(statement is service._VIEW for statement, _ in reads):
            views.changed([order["id"]])
        return rows

    monkeypatch.setattr(service, "read_together", changed_mid_read)
    with db.reader() as conn:
        views.render(conn, order["tracking_code"], tokens, None)
    monkeypatch.undo()
    assert views.cached(order["tracking_code"]) is None
    with db.reader() as conn:  # a version check confirms it: trusted from then on
        views.render(conn, order["tracking_code"], tokens, None)
    assert views.cached(order["tracking_code"]) is not None
    views.changed([order["id"]])
    assert views.cached(order["tracking_code"]) is None
