"""Live updates: an event ingested anywhere reaches the open page's event stream."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import create_engine, text

from rumbo.shared.live import LiveHub, channel_for
from tests.conftest import Tenant
from tests.factories import event_body
from tests.web.conftest import LiveServer, place_order


@contextmanager
def event_stream(server: LiveServer, code: str) -> Iterator[queue.Queue[str]]:
    """The page's SSE stream, its lines arriving on a queue; connected when yielded."""
    lines: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        with (
            httpx.Client(base_url=server.url, timeout=30) as http,
            http.stream("GET", f"/t/{code}/events") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                lines.put(line)
                if stop.is_set():
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert _next_matching(lines, ": connected") is not None
    try:
        yield lines
    finally:
        stop.set()
        reader.join(5)


def _next_matching(lines: queue.Queue[str], wanted: str, timeout: float = 5.0) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            return None
        if line.startswith(wanted):
            return line
    return None


def _push_delivery(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(
        "/api/v1/events",
        json=[
            event_body(
                None,
                carrier="correios",
                tracking_number="PN987654321BR",
                status="out_for_delivery",
                occurred_at="2026-11-22T08:00:00-03:00",
            )
        ],
        headers=tenant.headers,
    )
    assert response.status_code < 300, response.text


def test_an_ingested_event_reaches_the_open_stream(server: LiveServer, tenant: Tenant) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        order = place_order(http, tenant)
        with event_stream(server, order["tracking_code"]) as lines:
            _push_delivery(http, tenant)
            assert _next_matching(lines, "event: changed") is not None
        fragment = http.get(f"/t/{order['tracking_code']}/fragment?lang=en")
        assert "Out for delivery" in fragment.text


def test_a_change_committed_by_another_process_is_heard(
    server: LiveServer, tenant: Tenant, database_url: str
) -> None:
    """Another API process shares only the database: on PostgreSQL its pg_notify reaches
    our LISTEN connection; on SQLite our poller sees ``orders.version`` move."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        order = place_order(http, tenant)
        other_process = create_engine(database_url)
        try:
            with event_stream(server, order["tracking_code"]) as lines:
                with other_process.begin() as conn:
                    conn.execute(
                        text("UPDATE orders SET version = version + 1 WHERE id = :id"),
                        {"id": order["id"]},
                    )
                    if other_process.dialect.name == "postgresql":
                        conn.execute(
                            text("SELECT pg_notify(:c, :p)"),
                            {"c": channel_for(str(other_process.url)), "p": str(order["id"])},
                        )
                assert _next_matching(lines, "event: changed") is not None
        finally:
            other_process.dispose()


def test_heartbeats_keep_the_stream_open_and_a_closed_page_is_forgotten(
    server: LiveServer, tenant: Tenant
) -> None:
    hub: LiveHub = server.app.state.live
    with httpx.Client(base_url=server.url, timeout=30) as http:
        order = place_order(http, tenant)
        with event_stream(server, order["tracking_code"]) as lines:
            assert hub.watched() == 1
            assert _next_matching(lines, ": heartbeat", timeout=3) is not None
        # The client went away: the server notices at its next write and unsubscribes.
        deadline = time.monotonic() + 5
        while hub.watched() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.watched() == 0


def test_a_stale_page_is_told_at_once(server: LiveServer, tenant: Tenant) -> None:
    """The page says which version it shows; anything newer is announced on connect."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        order = place_order(http, tenant)
        with http.stream("GET", f"/t/{order['tracking_code']}/events?v=1") as response:
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(4)]
        assert "event: changed" in seen


def test_each_schema_has_its_own_notify_channel() -> None:
    """Channels belong to the database: Rumbos in two schemas of one database must not
    hear each other's order ids."""
    base = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    a = channel_for(f"{base}?options=-csearch_path%3Dstore_a")
    b = channel_for(f"{base}?options=-csearch_path%3Dstore_b")
    assert a != b
    assert a == channel_for(f"{base}?options=-csearch_path%3Dstore_a")
    assert channel_for(base) == "rumbo_orders"
    assert max(len(a), len(b)) < 64  # PostgreSQL's identifier limit
