"""Nothing accepted is lost: SIGKILL the server and the worker while events pour in.

The real ``rumbo serve`` and ``rumbo worker`` run as subprocesses on SQLite and on
PostgreSQL. A client sends events (single and in batches, new ones and repeats) and
records every event that got a 2xx; meanwhile the server is killed with SIGKILL at
random moments and restarted, and the worker is killed too, in the middle of its
deliveries to a webhook receiver run by the test (which answers slowly on purpose).
At the end:

- every acknowledged event is stored, and none twice;
- every order's status equals the one recomputed from all its events from scratch;
- every webhook the outbox holds was sent, and the receiver got each message id —
  delivery is at least once (a worker killed mid-delivery sends again with the same
  ``webhook-id``), so receivers deduplicate on it; distinct ids match exactly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from standardwebhooks import Webhook

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.events.service import rederive
from rumbo.events.status import Status
from rumbo.merchants.service import create_merchant
from rumbo.migrations import upgrade
from rumbo.models import Event, Order, OutboxMessage, Shipment
from rumbo.notifications.message import Kind
from tests.conftest import _postgres_base_url
from tests.factories import order_body

pytestmark = pytest.mark.slow

RUMBO = str(Path(sys.executable).with_name("rumbo"))
KILLS = 8  # per database; the worker dies at every third
ORDERS = 30
SEED = 20261123
JOURNEY = [
    "payment_confirmed",
    "preparing",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "delivery_failed",
    "exception",
    "available_for_pickup",
]
SOURCES = ["carrier", "warehouse", "payment", "store"]


# ----------------------------------------------------------------------------- databases


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database the subprocesses share: a SQLite file or a private schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rumbo.db'}"
        upgrade(url)
        yield url
        return
    base = _postgres_base_url()
    schema = f"rumbo_crash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ------------------------------------------------------------------------------ receiver


@dataclass
class Receiver:
    """Answers 204 after a short pause, so a killed worker is often mid-delivery."""

    secret: str = ""
    deliveries: Counter[str] = field(default_factory=Counter)
    bad_signatures: list[str] = field(default_factory=list)
    torn: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the worker's client expects

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                declared = int(self.headers.get("content-length", 0))
                body = self.rfile.read(declared)
                hook_id = self.headers.get("webhook-id", "")
                if len(body) < declared:
                    # The worker was killed while sending: the connection closed before the
                    # whole body arrived. Not a delivery and not a bad signature (the HMAC
                    # covers bytes that never came); nothing is answered on a dead socket.
                    with receiver.lock:
                        receiver.torn.append(hook_id)
                    self.close_connection = True
                    return
                time.sleep(0.03)
                try:
                    Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except Exception:
                    receiver.bad_signatures.append(hook_id)
                with receiver.lock:
                    receiver.deliveries[hook_id] += 1
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the worker opens up to 50 connections at once

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a worker killed mid-request resets its connection: expected here

        server = Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


# ----------------------------------------------------------------------------- processes


class Process:
    """One ``rumbo`` subprocess that the test kills with SIGKILL and starts again."""

    def __init__(self, args: list[str], env: dict[str, str], log: TextIO) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.kills += 1
        if self.proc is not None:
            self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def wait_until_up(base_url: str, server: Process, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.alive(), "the server exited on its own; see its log"
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not come up")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -------------------------------------------------------------------------------- client


@dataclass
class Ingester:
    """Sends events until stopped, as a store's integration would: new events, repeats
    of events already sent (acknowledged or not), one by one and in batches."""

    base_url: str
    api_key: str
    tracking_codes: list[str]
    rnd: random.Random
    acked: set[str] = field(default_factory=set)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: list[Any] = field(default_factory=list)
    failures: int = 0
    requests: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def new_event(self) -> dict[str, Any]:
        n = len(self.sent)
        at = datetime(2026, 11, 20, 9, tzinfo=UTC) + timedelta(minutes=self.rnd.randint(0, 9000))
        event = {
            "event_id": f"crash-{n}",
            "source": self.rnd.choice(SOURCES),
            "status": self.rnd.choice(JOURNEY),
            "occurred_at": at.isoformat(),
            "tracking_code": self.rnd.choice(self.tracking_codes),
            "description": "crash test",
        }
        self.sent[event["event_id"]] = event
        return event

    def next_body(self) -> Any:
        roll = self.rnd.random()
        if roll < 0.15 and self.sent:  # a repeat: same source and event id
            return self.sent[self.rnd.choice(list(self.sent))]
        if roll < 0.45:
            return [self.new_event() for _ in range(self.rnd.randint(2, 25))]
        return self.new_event()

    def run(self) -> None:
        with httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10,
        ) as client:
            while not self.stop.is_set():
                body = self.next_body()
                self.requests += 1
                try:
                    response = client.post("/api/v1/events", json=body)
                except httpx.HTTPError:
                    self.failures += 1  # not acknowledged: the client may send it again
                    time.sleep(0.05)
                    continue
                if response.status_code >= 300:
                    self.failures += 1
                    continue
                for result in response.json()["results"]:
                    if result["outcome"] == "rejected":
                        self.rejected.append(result)
                    else:
                        self.acked.add(result["event_id"])


# ---------------------------------------------------------------------------------- test


def test_acknowledged_events_and_their_notifications_survive_sigkill(
    crash_db: str, tmp_path: Path
) -> None:
    rnd = random.Random(SEED)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RUMBO_DATABASE_URL": crash_db,
        "RUMBO_ENV": "test",
        "RUMBO_SECRET_KEY": "crash-secret",
        "RUMBO_RUN_WORKER_IN_PROCESS": "false",
        "RUMBO_NOTIFICATION_LEASE_SECONDS": "10",
        "RUMBO_LOG_LEVEL": "WARNING",
        "RUMBO_LIMIT_REQUESTS_PER_KEY": "1000000",
        # The receiver below listens on loopback, which webhooks may not reach by default.
        "RUMBO_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    settings = Settings(database_url=crash_db, env="test", secret_key="crash-secret")
    db = Database(settings)
    with db.session() as session:
        merchant = create_merchant(session, "Loja Crash", datetime.now(UTC))
    receiver = Receiver()
    hooks = receiver.serve()

    log = (tmp_path / "processes.log").open("w")
    server = Process([RUMBO, "serve", "--port", str(port), "--no-access-log"], env=env, log=log)
    worker = Process([RUMBO, "worker"], env=env, log=log)
    ingester: Ingester | None = None
    try:
        server.start()
        worker.start()
        wait_until_up(base_url, server)
        auth = {"Authorization": f"Bearer {merchant.api_key}"}
        created = httpx.post(
            f"{base_url}/api/v1/webhooks",
            json={"url": f"http://127.0.0.1:{hooks.server_port}/hooks"},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        codes = []
        for _ in range(ORDERS):
            order = httpx.post(f"{base_url}/api/v1/orders", json=order_body(), headers=auth)
            assert order.status_code == 201, order.text
            codes.append(order.json()["tracking_code"])

        ingester = Ingester(base_url, merchant.api_key, codes, random.Random(SEED + 1))
        sender = threading.Thread(target=ingester.run, daemon=True)
        sender.start()
        for n in range(KILLS):
            time.sleep(rnd.uniform(0.3, 2.0))
            server.kill()
            if n % 3 == 0:
                worker.kill()
                worker.start()
            server.start()
            wait_until_up(base_url, server)
        time.sleep(1.0)  # some traffic after the last restart
        ingester.stop.set()
        sender.join(timeout=30)
        assert server.kills == KILLS
        assert worker.kills >= 1
        assert ingester.acked, "no event was acknowledged"
        assert not ingester.rejected, ingester.rejected[:3]

        # The webhooks drain: those a killed worker held come back when their lease ends.
        # (E-mail waits out its coalescing window, minutes: not part of this test.)
        deadline = time.monotonic() + 90
        while True:
            with db.session(write=False) as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.channel == "webhook",
                        OutboxMessage.status.in_(["queued", "sending"]),
                    )
                )
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not pending, f"{pending} webhooks never went out: {_stuck(db)}"
    finally:
        if ingester is not None:
            ingester.stop.set()
        server.kill()
        worker.kill()
        hooks.shutdown()
        log.close()

    with db.session(write=False) as session:
        stored = Counter(
            session.execute(
                select(Event.event_id).where(Event.merchant_id == merchant.merchant_id)
            ).scalars()
        )
        webhooks = dict(
            session.execute(
                select(OutboxMessage.id, OutboxMessage.status).where(
                    OutboxMessage.channel == "webhook"
                )
            ).all()
        )
        kinds_sent = set(
            session.execute(
                select(OutboxMessage.order_id, OutboxMessage.kind).where(
                    OutboxMessage.channel == "webhook"
                )
            ).all()
        )
        statuses = dict(session.execute(select(Order.id, Order.status)).all())

    # Every 2xx-acknowledged event is stored, none twice.
    missing = ingester.acked - set(stored)
    assert not missing, f"{len(missing)} acknowledged events were lost, e.g. {sorted(missing)[:5]}"
    assert max(stored.values()) == 1

    # Derived statuses equal a recomputation from every stored event.
    before = _status_rows(db)
    with db.session() as session:
        rederive(session, sorted(statuses), datetime.now(UTC))
    assert _status_rows(db) == before

    # Every order's current news triggered a webhook, and every webhook went out.
    for order_id, status in statuses.items():
        kind = Kind.for_status(Status(status))
        if kind is not None:
            assert (order_id, kind.value) in kinds_sent, (order_id, status)
    assert set(webhooks.values()) == {"sent"}
    expected = {f"msg_{message_id}" for message_id in webhooks}
    assert set(receiver.deliveries) == expected
    # A request cut off by the kill was sent again whole, with a signature that matches.
    assert set(receiver.torn) <= set(receiver.deliveries)
    assert not receiver.bad_signatures
    db.dispose()
    resent = sum(count - 1 for count in receiver.deliveries.values())
    print(
        f"\n{KILLS} server kills, {worker.kills - 1} worker kills; "
        f"{ingester.requests} requests, {ingester.failures} unacknowledged; "
        f"{len(ingester.acked)} events acknowledged, {len(stored)} stored; "
        f"{len(expected)} webhooks, {resent} re-sent after a worker kill"
    )


def _stuck(db: Database) -> list[Any]:
    with db.session(write=False) as session:
        return list(
            session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.status,
                    OutboxMessage.attempts,
                    OutboxMessage.next_attempt_at,
                    OutboxMessage.last_error,
                )
                .where(
                    OutboxMessage.channel == "webhook",
                    OutboxMessage.status.in_(["queued", "sending"]),
                )
                .limit(5)
            ).all()
        )


def _status_rows(db: Database) -> tuple[Any, ...]:
    with db.session(write=False) as session:
        orders = session.execute(
            select(
                Order.id,
                Order.status,
                Order.status_at,
                Order.own_status,
                Order.own_status_tiebreak,
                Order.last_event_at,
            ).order_by(Order.id)
        ).all()
        shipments = session.execute(
            select(
                Shipment.id, Shipment.status, Shipment.status_at, Shipment.own_status_tiebreak
            ).order_by(Shipment.id)
        ).all()
    return tuple(map(tuple, orders)), tuple(map(tuple, shipments))
