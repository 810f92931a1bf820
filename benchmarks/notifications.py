"""Webhook deliveries per second through the outbox worker, on PostgreSQL.

One run: a private schema; N webhook messages queued in ``outbox_messages`` for
one endpoint; a local receiver in its own process (a minimal asyncio HTTP/1.1
server answering 204 and counting each ``webhook-id``); then the messages are
drained by one worker process, queued again, and drained by two worker processes
in parallel. Each worker is ``rumbo.notifications.tasks.Notifier`` as ``rumbo
worker`` runs it: claim a batch with ``FOR UPDATE SKIP LOCKED``, sign and POST
each message (Standard Webhooks), record the outcomes — only the clock is the
system one. The receiver checks that no message arrived twice.

Usage::

    .venv/bin/python benchmarks/notifications.py --messages 20000

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); the schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import drain_outbox, webhook_receiver
from sqlalchemy import create_engine, insert, text, update

from rumbo.config import Settings, normalize_database_url
from rumbo.db import Database
from rumbo.merchants.service import create_merchant
from rumbo.migrations import upgrade
from rumbo.models import Order, OutboxMessage, WebhookEndpoint
from rumbo.notifications.channels.webhook import generate_secret

RESULTS = Path(__file__).parent / "results"


# ------------------------------------------------------------------------------- receiver


def webhook_id(hook: str, body: bytes) -> str:
    return hook


# -------------------------------------------------------------------------------- workers


def worker(url: str, name: str, batch: int, concurrency: int, no_sniffio: bool, done: Any) -> None:
    if no_sniffio:
        # What-if: httpcore imports ``sniffio`` on every lock operation; when it is not
        # installed each failed import rescans sys.path. A None entry fails at once,
        # exactly as "not installed" does, without the scan (= installing sniffio).
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
    settings = Settings(
        database_url=url,
        env="test",
        secret_key="bench",
        webhook_allowed_networks="127.0.0.0/8",  # the receiver listens on loopback
        notification_batch_size=batch,
        notification_concurrency=concurrency,
    )
    done.put((name, drain_outbox(settings, name)))


def run_workers(
    url: str, workers: int, batch: int, concurrency: int, no_sniffio: bool
) -> tuple[float, list[Any]]:
    ctx = mp.get_context("spawn")
    done: Any = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(url, f"w{i}", batch, concurrency, no_sniffio, done))
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


# ------------------------------------------------------------------------------------ run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--no-sniffio",
        action="store_true",
        help="Make httpcore's per-call `import sniffio` fail fast (as if sniffio were installed).",
    )
    args = parser.parse_args()

    base = normalize_database_url(
        os.environ.get("RUMBO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    schema = f"rumbo_bench_notif_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    ctx = mp.get_context("spawn")
    port_q: Any = ctx.Queue()
    counts_q: Any = ctx.Queue()
    stop = ctx.Event()
    recv = ctx.Process(target=webhook_receiver, args=(port_q, stop, counts_q, webhook_id))
    recv.start()
    results: dict[str, Any] = {
        "messages": args.messages,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "no_sniffio": args.no_sniffio,
    }
    try:
        upgrade(url)
        port = port_q.get(timeout=10)
        db = Database(Settings(database_url=url, env="test", secret_key="bench"))
        now = datetime.now(UTC)
        with db.session() as session:
            merchant_id = create_merchant(session, "Bench", now).merchant_id
            order = Order(
                merchant_id=merchant_id,
                external_id="B-1",
                tracking_code="BENCH0000001",
                request_hash="x",
                customer_locale="en",
                destination={"city": "São Paulo", "country": "BR"},
                items=[],
                placed_at=now,
                created_at=now,
                updated_at=now,
                status="in_transit",
            )
            endpoint = WebhookEndpoint(
                merchant_id=merchant_id,
                url=f"http://127.0.0.1:{port}/hooks",
                secret=generate_secret(),
                event_types=[],
                enabled=True,
                created_at=now,
            )
            session.add_all([order, endpoint])
            session.flush()
            session.execute(
                insert(OutboxMessage),
                [
                    {
                        "merchant_id": merchant_id,
                        "order_id": order.id,
                        "endpoint_id": endpoint.id,
                        "channel": "webhook",
                        "kind": "in_transit",
                        "idempotency_key": f"bench:{i}",
                        "payload": {"status": "in_transit", "status_at": now.isoformat()},
                        "status": "queued",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for i in range(args.messages)
                ],
            )
        for workers in (1, 2):
            if workers == 2:  # queue the same messages again
                with db.session() as session:
                    session.execute(
                        update(OutboxMessage).values(
                            status="queued", attempts=0, next_attempt_at=datetime.now(UTC)
                        )
                    )
            elapsed, claimed = run_workers(
                url, workers, args.batch, args.concurrency, args.no_sniffio
            )
            rate = args.messages / elapsed
            results[f"workers_{workers}"] = {
                "seconds": round(elapsed, 2),
                "per_second": round(rate),
                "claimed": claimed,
            }
            print(
                f"{workers} worker(s): {args.messages} webhooks in {elapsed:.2f} s = {rate:,.0f}/s"
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
        counts: dict[str, int] = Counter(counts_q.get(timeout=10)) if recv.is_alive() else {}
        recv.join()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    # Each message was sent once per run (two runs): never more.
    results["distinct_ids"] = len(counts)
    results["max_per_id"] = max(counts.values(), default=0)
    results["statuses"] = statuses
    print(f"receiver: {len(counts)} ids, at most {results['max_per_id']} times each (2 runs)")
    print(f"outbox: {statuses}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(results, indent=2))
    if results["max_per_id"] > 2 or len(counts) != args.messages:
        sys.exit("a message was lost or sent twice in one run")


if __name__ == "__main__":
    main()
