"""What every benchmark script needs: a fresh, migrated database of each kind, and a free port.

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); each run gets a private schema,
dropped by :meth:`FreshDatabase.drop`.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

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
}
