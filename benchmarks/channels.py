"""WhatsApp and Web Push sends per second through the outbox worker, on PostgreSQL.

One run per channel: a private schema; N orders, each with one queued message on
the channel; a local peer in its own process (a minimal asyncio HTTP/1.1 server:
for WhatsApp it answers the Cloud API's ``200 {"messages": [{"id": …}]}``, for push
a push service's ``201 Created``) counting what it receives; then the messages are
drained by one worker process, queued again, and drained by two in parallel. Each
worker is ``rumbo.notifications.tasks.Notifier`` as ``rumbo worker`` runs it: the
WhatsApp template request is built and posted per message; each push message is
encrypted for its device (RFC 8291, a fresh key per message) and signed with VAPID.
The request checks Meta's or a push service's documents would make are in the tests
(tests/notifications/fake_meta.py, fake_push.py); here the peers only answer fast.

Usage::

    .venv/bin/python benchmarks/channels.py --channel whatsapp --messages 10000
    .venv/bin/python benchmarks/channels.py --channel push --messages 10000

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); the schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import http_ece
from common import FreshDatabase, drain_outbox, webhook_receiver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import insert, select, text, update

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.merchants.service import create_merchant
from rumbo.models import Order, OutboxMessage, PushSubscription, WhatsAppAccount
from rumbo.notifications.channels.push import VapidKey, b64url_encode

RESULTS = Path(__file__).parent / "results"
VAPID = VapidKey.generate()
_ANSWER = b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.HBgNbench00001"}]}'
WHATSAPP_REPLY = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(_ANSWER)}\r\n\r\n".encode()
    + _ANSWER
)
PUSH_REPLY = b"HTTP/1.1 201 Created\r\nlocation: /m/1\r\ncontent-length: 0\r\n\r\n"


def whatsapp_id(path: str, body: bytes) -> str:
    return str(json.loads(body)["biz_opaque_callback_data"])


def push_id(path: str, body: bytes) -> str:
    return path


def worker(url: str, peer: str, name: str, batch: int, concurrency: int, done: Any) -> None:
    settings = Settings(
        database_url=url,
        env="test",
        secret_key="bench",
        notification_batch_size=batch,
        notification_concurrency=concurrency,
        whatsapp_base_url=peer,
        vapid_private_key=VAPID,
    )
    done.put((name, drain_outbox(settings, name)))


def run_workers(
    url: str, peer: str, workers: int, batch: int, concurrency: int
) -> tuple[float, list[Any]]:
    ctx = mp.get_context("spawn")
    done: Any = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(url, peer, f"w{i}", batch, concurrency, done))
        for i in range(workers)
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    claimed = [done.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return elapsed, claimed


class BenchDevice:
    """The browser side of every benchmark push subscription: one P-256 key pair, and
    per order an auth secret made of its id, so that what a push service receives
    can be decrypted afterwards (RFC 8291) to see which news it carried."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.p256dh = b64url_encode(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def subscriptions(self, order_ids: list[int], peer: str, now: datetime) -> list[dict[str, Any]]:
        """``push_subscriptions`` rows: one device per order, its endpoint on ``peer``."""
        return [
            {
                "order_id": order_id,
                "endpoint": f"{peer}/p/{order_id}",
                "p256dh": self.p256dh,
                "auth": b64url_encode(order_id.to_bytes(16, "big")),
                "created_at": now,
            }
            for order_id in order_ids
        ]

    def read(self, path: str, body: bytes) -> dict[str, Any]:
        """The notification a message posted to ``/p/{order id}`` carries."""
        order_id = int(path.rsplit("/", 1)[1])
        plain = http_ece.decrypt(
            body,
            private_key=self.key,
            auth_secret=order_id.to_bytes(16, "big"),
            version="aes128gcm",
        )
        return dict(json.loads(plain))


def whatsapp_account(merchant_id: int, now: datetime, kinds: list[str]) -> WhatsAppAccount:
    """The store's Cloud API sender, with a pt-BR template named after each kind."""
    return WhatsAppAccount(
        merchant_id=merchant_id,
        phone_number_id="106540352242922",
        access_token="bench",
        app_secret="bench",
        verify_token="bench",
        api_version="v21.0",
        templates={kind: {"pt-BR": f"rumbo_{kind}"} for kind in kinds},
        paused_templates={},
        updated_at=now,
    )


def seed(db: Database, channel: str, messages: int, peer: str) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        merchant_id = create_merchant(session, "Bench", now).merchant_id
        session.add(whatsapp_account(merchant_id, now, ["in_transit"]))
        session.execute(
            insert(Order),
            [
                {
                    "merchant_id": merchant_id,
                    "external_id": f"B-{i}",
                    "tracking_code": f"BENCH{i:08d}",
                    "request_hash": "x",
                    "customer_locale": "pt-BR",
                    "customer_phone": f"+55119{i:08d}",
                    "destination": {"city": "São Paulo", "country": "BR"},
                    "items": [],
                    "placed_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "status": "in_transit",
                }
                for i in range(messages)
            ],
        )
        order_ids = list(session.scalars(select(Order.id).order_by(Order.id)))
        if channel == "push":
            session.execute(
                insert(PushSubscription), BenchDevice().subscriptions(order_ids, peer, now)
            )
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "merchant_id": merchant_id,
                    "order_id": order_id,
                    "channel": channel,
                    "kind": "in_transit",
                    "idempotency_key": f"bench:{order_id}",
                    "payload": {"status": "in_transit", "status_at": now.isoformat()},
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for order_id in order_ids
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channel", choices=["whatsapp", "push"], required=True)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    fresh = FreshDatabase("postgresql", Path(tempfile.mkdtemp()))
    ctx = mp.get_context("spawn")
    port_q: Any = ctx.Queue()
    counts_q: Any = ctx.Queue()
    stop = ctx.Event()
    note, reply = (
        (whatsapp_id, WHATSAPP_REPLY) if args.channel == "whatsapp" else (push_id, PUSH_REPLY)
    )
    recv = ctx.Process(target=webhook_receiver, args=(port_q, stop, counts_q, note, reply))
    recv.start()
    results: dict[str, Any] = vars(args).copy()
    try:
        peer = f"http://127.0.0.1:{port_q.get(timeout=10)}"
        db = Database(Settings(database_url=fresh.url, env="test", secret_key="bench"))
        seed(db, args.channel, args.messages, peer)
        for workers in (1, 2):
            if workers == 2:  # queue the same messages again
                with db.session() as session:
                    session.execute(
                        update(OutboxMessage).values(
                            status="queued", attempts=0, next_attempt_at=datetime.now(UTC)
                        )
                    )
            elapsed, claimed = run_workers(fresh.url, peer, workers, args.batch, args.concurrency)
            rate = args.messages / elapsed
            results[f"workers_{workers}"] = {
                "seconds": round(elapsed, 2),
                "per_second": round(rate),
                "claimed": claimed,
            }
            print(
                f"{workers} worker(s): {args.messages} {args.channel} messages"
                f" in {elapsed:.2f} s = {rate:,.0f}/s"
            )
        with db.session(write=False) as session:
            statuses = dict(
                session.execute(
                    text("SELECT status, count(*) FROM outbox_messages GROUP BY status")
                ).all()
            )
        db.dispose()
    finally:
        stop.set()
        counts: dict[str, int] = Counter(counts_q.get(timeout=30)) if recv.is_alive() else {}
        recv.join()
        fresh.drop()
    results["distinct_ids"] = len(counts)
    results["max_per_id"] = max(counts.values(), default=0)
    results["statuses"] = statuses
    print(f"peer: {len(counts)} ids, at most {results['max_per_id']} times each (2 runs)")
    print(f"outbox: {statuses}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.channel}.json").write_text(json.dumps(results, indent=2))
    if results["max_per_id"] > 2 or len(counts) != args.messages:
        sys.exit("a message was lost or sent twice in one run")


if __name__ == "__main__":
    main()
