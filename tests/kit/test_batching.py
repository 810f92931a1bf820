"""The group-commit writer runs again a transaction the database rolled back as transient.

Two writers whose transactions lock the same two rows in opposite orders deadlock;
PostgreSQL breaks the deadlock by rolling one of them back (SQLSTATE 40P01). That
transaction did nothing, so the writer runs it again, and both requests are answered
as stored instead of one failing.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.orm import Session

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.batching import BatchWriter, transient
from tests.conftest import Tenant
from tests.factories import order_body

_LOCK = text("SELECT id FROM orders WHERE id = :id FOR NO KEY UPDATE")


def _retries(writers: list[str]) -> float:
    """``rumbo_writer_retries_total`` of ``writers``, as /metrics exposes it."""
    return sum(
        REGISTRY.get_sample_value("rumbo_writer_retries_total", {"writer": name}) or 0.0
        for name in writers
    )


def test_a_transaction_rolled_back_to_break_a_deadlock_is_run_again(
    client: TestClient, tenant: Tenant, db: Database, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite's write transaction keeps every other writer out: no deadlocks")
    a, b = (
        client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()["id"]
        for _ in range(2)
    )
    both_hold_one = threading.Barrier(2)
    attempts: Counter[str] = Counter()
    failures: list[BaseException] = []

    def process(session: Session, jobs: Sequence[tuple[str, int, int]]) -> list[str]:
        [(name, first, second)] = jobs
        attempts[name] += 1
        session.execute(_LOCK, {"id": first})
        if attempts[name] == 1:
            both_hold_one.wait(10)  # each holds one row and asks for the other's
        try:
            session.execute(_LOCK, {"id": second})
        except Exception as exc:
            failures.append(exc)
            raise
        return [name]

    writers: list[BatchWriter[Any, str]] = [
        BatchWriter(db, process, size=lambda _: 1, max_items=1, name=f"test-{n}") for n in (1, 2)
    ]
    retried_before = _retries([w.name for w in writers])
    for writer in writers:
        writer.start()
    try:

        async def both() -> list[str]:
            return list(
                await asyncio.gather(
                    writers[0].submit(("ab", a, b)), writers[1].submit(("ba", b, a))
                )
            )

        assert asyncio.run(both()) == ["ab", "ba"]
    finally:
        for writer in writers:
            writer.stop()
    # PostgreSQL rolled one side back; that side alone ran a second time.
    assert len(failures) == 1
    assert transient(failures[0])
    assert sorted(attempts.values()) == [1, 2]
    # Operators see it: the writer counts the transaction it ran again.
    assert _retries([w.name for w in writers]) == retried_before + 1


def test_other_failures_are_not_transient() -> None:
    class DriverError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    class Wrapped(Exception):
        def __init__(self, orig: Exception) -> None:
            self.orig = orig

    assert transient(Wrapped(DriverError("40P01")))
    assert transient(DriverError("40001"))
    assert not transient(Wrapped(DriverError("23505")))  # a unique violation is for good
    assert not transient(ValueError("no sqlstate"))
