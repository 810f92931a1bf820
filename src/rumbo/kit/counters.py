"""Abuse limits every process and node sees, kept in PostgreSQL (``rate_limit_counters``).

With ``rumbo serve --workers N`` or several nodes, limits held in each process's
memory let a client through N times, and a restart forgets every lockout. Here the
same algorithms as :mod:`rumbo.kit.ratelimit` run inside one atomic upsert per
attempt (``INSERT … ON CONFLICT DO UPDATE … RETURNING``,
https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT): the row
lock it takes serialises concurrent attempts on one key, so twenty attempts sent at
once are counted twenty times. Each runs on an autocommit connection: one round trip.
Times are Unix seconds from the wall clock, which all nodes share.

:func:`limit_for` picks this store on PostgreSQL and the in-memory one on SQLite
(a single process).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, text

from rumbo.kit.ratelimit import GrowingDelay, Limit, SlidingWindow, roll, window_wait

# Forget rows whose window is over every this many attempts (per process).
_SWEEP_EVERY = 1000

# Sliding window: roll the stored window on to now's (see ``ratelimit.roll``), estimate
# the hits in the sliding window, and count this attempt only if it is under the limit
# (or ``force``). ``w`` = window seconds. The row lock makes check-and-count one step.
_WINDOWS = "floor((:now - c.started) / :w)"
_ROLLED_START = f"(CASE WHEN {_WINDOWS} >= 1 THEN c.started + {_WINDOWS} * :w ELSE c.started END)"
_ROLLED_PREVIOUS = (
    f"(CASE WHEN {_WINDOWS} >= 2 THEN 0 WHEN {_WINDOWS} = 1 THEN c.current ELSE c.previous END)"
)
_ROLLED_CURRENT = f"(CASE WHEN {_WINDOWS} >= 1 THEN 0 ELSE c.current END)"
_UNDER = (
    f"(:force OR {_ROLLED_PREVIOUS} * (1 - (:now - {_ROLLED_START}) / :w) + {_ROLLED_CURRENT}"
    " < :limit)"
)
_WINDOW_UPSERT = f"""
INSERT INTO rate_limit_counters AS c
    (name, key, started, previous, current, admitted, expires_at)
VALUES (:name, :key, :now, 0, 1, true, :now + 2 * :w)
ON CONFLICT (name, key) DO UPDATE SET
    started = {_ROLLED_START},
    previous = {_ROLLED_PREVIOUS},
    current = {_ROLLED_CURRENT} + CASE WHEN {_UNDER} THEN 1 ELSE 0 END,
    admitted = {_UNDER},
    expires_at = {_ROLLED_START} + 2 * :w
RETURNING started, previous, current, admitted
"""
_RELEASE = """
UPDATE rate_limit_counters SET current = GREATEST(current - 1, 0)
WHERE name = :name AND key = :key
"""
_READ = """
SELECT started, previous, current, admitted FROM rate_limit_counters
WHERE name = :name AND key = :key
"""

# Growing delay: failures forgotten after ``forget``; an attempt while refused changes
# nothing (unless ``force``); otherwise it counts and sets when this key may try next.
# Attempts sent at once read the clock before they queue on the row lock, so one may
# arrive with a time older than one already counted: on the row, time never goes back
# (``_NOW``), or that attempt would find the key "not free until" a moment it has not
# reached and be refused inside its free allowance.
_NOW = "GREATEST(:now, c.started)"
_FAILURES = f"(CASE WHEN {_NOW} - c.started > :forget THEN 0 ELSE c.current END)"
_DELAY = (
    f"(CASE WHEN {_FAILURES} + 1 <= :free THEN 0 "
    f"ELSE LEAST(:cap, :base * power(2, {_FAILURES} + 1 - :free - 1)) END)"
)
_FREE = f"(c.previous <= {_NOW} OR :force)"
_DELAY_UPSERT = f"""
INSERT INTO rate_limit_counters AS c
    (name, key, started, previous, current, admitted, expires_at)
VALUES (:name, :key, :now, :now + :first_delay, 1, true, :now + :forget)
ON CONFLICT (name, key) DO UPDATE SET
    current = CASE WHEN {_FREE} THEN {_FAILURES} + 1 ELSE c.current END,
    previous = CASE WHEN {_FREE} THEN GREATEST(c.previous, {_NOW} + {_DELAY}) ELSE c.previous END,
    started = CASE WHEN {_FREE} THEN {_NOW} ELSE c.started END,
    admitted = {_FREE},
    expires_at = :now + :forget
RETURNING started, previous, current, admitted
"""
_DELAY_RELEASE = """
UPDATE rate_limit_counters SET current = GREATEST(current - 1, 0), previous = :now
WHERE name = :name AND key = :key
"""
_SWEEP = "DELETE FROM rate_limit_counters WHERE expires_at < :now"


class _Shared:
    def __init__(self, engine: Engine, name: str, clock: Callable[[], float]) -> None:
        # Autocommit: each statement is its own transaction, one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.name = name
        self._clock = clock
        self._calls = itertools.count(1)

    def _run(self, sql: str, params: Mapping[str, Any]) -> tuple[list[float], bool] | None:
        """``[started, previous, current]`` after the statement and whether it counted."""
        with self._engine.connect() as conn:
            result = conn.execute(text(sql), {"name": self.name, **params})
            row = result.first() if result.returns_rows else None
            if next(self._calls) % _SWEEP_EVERY == 0:
                conn.execute(text(_SWEEP), {"now": params["now"]})
        if row is None:
            return None
        return [float(row[0]), float(row[1]), float(row[2])], bool(row[3])


class SharedWindow(_Shared):
    """:class:`~rumbo.kit.ratelimit.SlidingWindow` kept in PostgreSQL."""

    def __init__(
        self,
        engine: Engine,
        limit: int,
        window: float,
        name: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(engine, name, clock)
        self.limit = limit
        self.window = window

    def _params(self, key: str, now: float, force: bool) -> dict[str, Any]:
        return {"key": key, "now": now, "w": self.window, "limit": self.limit, "force": force}

    def take(self, key: str) -> float:
        now = self._clock()
        found = self._run(_WINDOW_UPSERT, self._params(key, now, force=False))
        assert found is not None
        state, admitted = found
        return 0.0 if admitted else max(window_wait(self.limit, self.window, state, now), 0.001)

    def hit(self, key: str) -> None:
        self._run(_WINDOW_UPSERT, self._params(key, self._clock(), force=True))

    def retry_after(self, key: str) -> float:
        now = self._clock()
        found = self._run(_READ, {"key": key, "now": now})
        if found is None:
            return 0.0
        return window_wait(self.limit, self.window, roll(found[0], now, self.window), now)

    def release(self, key: str) -> None:
        self._run(_RELEASE, {"key": key, "now": self._clock()})


class SharedDelay(_Shared):
    """:class:`~rumbo.kit.ratelimit.GrowingDelay` kept in PostgreSQL."""

    def __init__(
        self,
        engine: Engine,
        free: int,
        base: float,
        cap: float,
        forget: float,
        name: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(engine, name, clock)
        self.free, self.base, self.cap, self.forget = free, base, cap, forget

    def _params(self, key: str, now: float, force: bool) -> dict[str, Any]:
        first = 0.0 if self.free >= 1 else self.base
        return {
            "key": key,
            "now": now,
            "forget": self.forget,
            "free": self.free,
            "base": self.base,
            "cap": self.cap,
            "first_delay": first,
            "force": force,
        }

    def take(self, key: str) -> float:
        now = self._clock()
        found = self._run(_DELAY_UPSERT, self._params(key, now, force=False))
        assert found is not None
        state, admitted = found
        return 0.0 if admitted else max(state[1] - now, 0.0) + 0.001

    def hit(self, key: str) -> None:
        self._run(_DELAY_UPSERT, self._params(key, self._clock(), force=True))

    def retry_after(self, key: str) -> float:
        now = self._clock()
        found = self._run(_READ, {"key": key, "now": now})
        return 0.0 if found is None or found[0][1] <= now else found[0][1] - now + 0.001

    def release(self, key: str) -> None:
        self._run(_DELAY_RELEASE, {"key": key, "now": self._clock()})


def window_for(engine: Engine | None, limit: int, window: float, name: str) -> Limit:
    """A sliding window shared through PostgreSQL, or in memory (``engine`` None or SQLite)."""
    if engine is not None and engine.dialect.name == "postgresql":
        return SharedWindow(engine, limit, window, name)
    return SlidingWindow(limit, window, name=name)


def delay_for(
    engine: Engine | None, free: int, base: float, cap: float, forget: float, name: str
) -> Limit:
    """A growing delay shared through PostgreSQL, or in memory (``engine`` None or SQLite)."""
    if engine is not None and engine.dialect.name == "postgresql":
        return SharedDelay(engine, free, base, cap, forget, name)
    return GrowingDelay(free, base, cap, forget, name=name)
