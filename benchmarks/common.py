"""What every benchmark script needs: a fresh, migrated database of each kind, and a free port.

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); each run gets a private schema,
dropped by :meth:`FreshDatabase.drop`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from rumbo.config import normalize_database_url
from rumbo.migrations import upgrade


class FreshDatabase:
    """A migrated, empty database: a SQLite file in ``workdir`` or a PostgreSQL schema."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.schema: str | None = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            base = normalize_database_url(
                os.environ.get(
                    "RUMBO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
                )
            )
            self.admin_url = base
            self.schema = f"rumbo_bench_{uuid.uuid4().hex[:8]}"
            with create_engine(base).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            self.url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{self.schema}"
        upgrade(self.url)

    def drop(self) -> None:
        if self.schema:
            with create_engine(self.admin_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The load comes from one address, one key and a few devices: lift the per-client,
# per-key and per-device abuse limits (docs/operations.md) for the measurement.
NO_ABUSE_LIMITS = {
    "RUMBO_LIMIT_LOOKUPS_PER_CLIENT": "1000000000",
    "RUMBO_LIMIT_REQUESTS_PER_KEY": "1000000000",
    "RUMBO_LIMIT_POSITIONS_PER_DEVICE": "1000000000",
    "RUMBO_LIMIT_QUESTIONS_PER_CLIENT": "1000000000",
    # Every simulated shopper comes from the one address of the load generator.
    "RUMBO_LIMIT_STREAMS_PER_CLIENT": "1000000",
}


NO_CONTENT = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


def webhook_receiver(
    port_out: Any,
    stop: Any,
    out: Any,
    note: Callable[[str, bytes], Any],
    reply: bytes = NO_CONTENT,
) -> None:
    """A keep-alive HTTP/1.1 server (run in its own process) answering every request
    with ``reply`` (204 by default). Puts its port on ``port_out``; once ``stop`` is set,
    puts on ``out`` the list of ``note(webhook_id, body)`` for every request, in arrival
    order (the request path stands for the id when there is no ``webhook-id``)."""
    seen: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                length, hook = 0, lines[0].split(b" ")[1].decode()
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    key = name.strip().lower()
                    if key == b"content-length":
                        length = int(value)
                    elif key == b"webhook-id":
                        hook = value.strip().decode()
                seen.append(note(hook, await reader.readexactly(length)))
                writer.write(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()
        out.put(seen)

    asyncio.run(main())


def drain_outbox(settings: Any, name: str) -> int:
    """Send everything queued in the outbox as ``rumbo worker`` would (one Notifier,
    claiming until nothing is left); the number of messages it claimed."""
    from rumbo.db import Database
    from rumbo.kit.clock import SystemClock
    from rumbo.notifications.tasks import Notifier

    db = Database(settings)

    async def drain() -> int:
        notifier = Notifier(settings, db, clock=SystemClock(), name=name)
        total = 0
        try:
            while claimed := await notifier.run_once():
                total += claimed
        finally:
            await notifier.aclose()
        return total

    try:
        return asyncio.run(drain())
    finally:
        db.dispose()
