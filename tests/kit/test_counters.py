"""Shared limit counters on PostgreSQL: three processes share one budget, and a restart
keeps it; the in-memory and shared stores agree on what they admit."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from rumbo.kit.counters import SharedDelay, SharedWindow, delay_for, window_for
from rumbo.kit.ratelimit import GrowingDelay, SlidingWindow, growing_delay

LIMIT = 30


@pytest.fixture
def engine(postgres_schema_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_schema_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rate_limit_counters"))
    yield engine
    engine.dispose()


def _hammer(url: str, attempts: int, start: float, results: multiprocessing.Queue[int]) -> None:
    engine = create_engine(url)
    window = SharedWindow(engine, LIMIT, 900, "verify_per_client")
    while time.time() < start:  # all three begin together
        time.sleep(0.001)
    results.put(sum(window.take("198.51.100.7") == 0 for _ in range(attempts)))
    engine.dispose()


def test_three_processes_share_one_budget(engine: Engine, postgres_schema_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = spawn.Queue()
    start = time.time() + 3
    workers = [
        spawn.Process(target=_hammer, args=(postgres_schema_url, 25, start, results))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    admitted = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(10)
    # 75 attempts across three processes: the limit's worth, not three times it.
    assert sum(admitted) == LIMIT


def test_a_restart_keeps_the_lockout(engine: Engine, postgres_schema_url: str) -> None:
    before = SharedWindow(engine, 5, 900, "console_per_email_client")
    assert [before.take("carla|198.51.100.7") for _ in range(5)] == [0.0] * 5
    engine.dispose()
    restarted = create_engine(postgres_schema_url)  # a new process: nothing in memory
    after = window_for(restarted, 5, 900, "console_per_email_client")
    assert isinstance(after, SharedWindow)
    wait = after.take("carla|198.51.100.7")
    assert 0 < wait <= 900
    assert after.take("carla|203.0.113.20") == 0.0
    restarted.dispose()


def test_a_refused_attempt_is_not_counted(engine: Engine) -> None:
    window = SharedWindow(engine, 2, 900, "n")
    assert [window.take("k") > 0 for _ in range(5)] == [False, False, True, True, True]
    window.release("k")
    assert window.take("k") == 0.0
    assert window.take("k") > 0


def test_shared_and_memory_windows_admit_alike(engine: Engine) -> None:
    now = [1_000_000.0]
    shared = SharedWindow(engine, 7, 60, "n", clock=lambda: now[0])
    memory = SlidingWindow(7, 60, clock=lambda: now[0])
    for step in [0, 1, 5, 20, 30, 45, 61, 62, 70, 100, 130, 200, 200.5, 240]:
        now[0] = 1_000_000.0 + step
        for _ in range(3):
            assert (shared.take("k") == 0) == (memory.take("k") == 0), step


def test_shared_and_memory_delays_admit_alike(engine: Engine) -> None:
    now = [1_000_000.0]
    shared = SharedDelay(engine, 3, 1.0, 60.0, 86_400, "d", clock=lambda: now[0])
    memory = GrowingDelay(3, 1.0, 60.0, 86_400, clock=lambda: now[0])
    for step in [0, 0, 0, 0, 0.5, 1.2, 1.3, 3.5, 8, 8, 20, 100, 200, 90_000, 90_000]:
        now[0] = 1_000_000.0 + step
        assert (shared.take("k") == 0) == (memory.take("k") == 0), step
    assert growing_delay(3 + 20, 3, 1.0, 60.0) == 60.0


def test_sqlite_keeps_memory() -> None:
    sqlite = create_engine("sqlite://")
    assert isinstance(window_for(sqlite, 1, 1, "n"), SlidingWindow)
    assert isinstance(delay_for(sqlite, 1, 1, 1, 1, "n"), GrowingDelay)
    assert isinstance(window_for(None, 1, 1, "n"), SlidingWindow)
