"""A small in-process sliding-window counter for abuse limits (per key, per window).

The sliding-window *counter* approximation: each key keeps the hits of its current
fixed window and of the previous one, and counts
``previous × (share of the previous window still inside the sliding window) +
current`` — three numbers per key whatever the limit, O(1) per hit. It assumes the
previous window's hits were spread evenly; Cloudflare measured 0.003 % of requests
wrongly allowed or limited with it over 400 million requests
(https://blog.cloudflare.com/counting-things-a-lot-of-different-things/). Windows
start at a key's first hit, so a burst from a new key is counted exactly.

These counters live in one process's memory: right for SQLite (one process) and
for throughput guards. On PostgreSQL the limits that stop guessing use
:mod:`rumbo.kit.counters`, the same windows kept in a table every process sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from fastapi import Request
from prometheus_client import Counter

from rumbo.errors import RumboError

# Above this many keys, idle ones are forgotten (at most once per doubling, so a
# flood of distinct keys costs amortised O(1) per hit rather than a scan each time).
_SWEEP_AT = 100_000
# Past the exact moment the estimate drops under the limit (float rounding).
_MARGIN = 0.001

# Defined beside the refusal it counts: kit sits below shared.metrics and imports none of it.
RATE_LIMITED = Counter(
    "rumbo_rate_limited_total", "Requests refused with 429, by limit.", ["limit"]
)


class Limit(Protocol):
    """A per-key abuse limit: a sliding window or a growing delay, in memory or shared."""

    name: str

    def take(self, key: str) -> float:
        """Count one attempt and return 0, or return the seconds to wait (not counted)."""

    def hit(self, key: str) -> None:
        """Count one attempt whatever the limit says."""

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now); counts nothing."""

    def release(self, key: str) -> None:
        """Take back one counted attempt (it turned out not to be a failure)."""


def window_wait(limit: int, window: float, state: list[float], now: float) -> float:
    """Seconds until a rolled ``[start, previous, current]`` state is under ``limit``."""
    start, previous, current = state
    elapsed = (now - start) / window  # share of the current window gone by
    if previous * (1 - elapsed) + current < limit:
        return 0.0
    if current < limit:  # the previous window's share must shrink enough
        share = 1 - (limit - current) / previous
        wait = (share - elapsed) * window
    else:  # this window alone is full: wait for the next, and for its share to shrink
        wait = (1 - elapsed + max(1 - limit / current, 0.0)) * window
    return max(wait, 0.0) + _MARGIN


def roll(state: list[float], now: float, window: float) -> list[float]:
    """Move ``[start, previous, current]`` on to the fixed window that holds ``now``."""
    windows = int((now - state[0]) // window)
    if windows >= 1:
        state[1] = state[2] if windows == 1 else 0.0
        state[2] = 0.0
        state[0] += windows * window
    return state


class SlidingWindow:
    """At most ``limit`` hits per ``window`` seconds per key."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        name: str = "limit",
    ) -> None:
        self.limit = limit
        self.window = window
        self.name = name
        self._clock = clock
        # key -> [start of its current fixed window, hits in the previous one, in this one]
        self._state: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._sweep_at = _SWEEP_AT

    def _roll(self, key: str, now: float) -> list[float]:
        state = self._state.get(key)
        if state is None:
            state = self._state[key] = [now, 0.0, 0.0]
            return state
        return roll(state, now, self.window)

    def _wait(self, state: list[float], now: float) -> float:
        return window_wait(self.limit, self.window, state, now)

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            now = self._clock()
            return self._wait(self._roll(key, now), now)

    def hit(self, key: str) -> None:
        """Count one hit for ``key`` (for limits on failures: count after the check)."""
        with self._lock:
            now = self._clock()
            self._roll(key, now)[2] += 1
            self._sweep(now)

    def take(self, key: str) -> float:
        """Count one hit if ``key`` is under its limit and return 0; else the seconds
        to wait (nothing counted). One lock round trip: for hot paths."""
        with self._lock:
            now = self._clock()
            state = self._roll(key, now)
            wait = self._wait(state, now)
            if wait == 0.0:
                state[2] += 1
                self._sweep(now)
            return wait

    def release(self, key: str) -> None:
        with self._lock:
            state = self._roll(key, self._clock())
            state[2] = max(state[2] - 1, 0.0)

    def _sweep(self, now: float) -> None:
        if len(self._state) <= self._sweep_at:
            return
        idle = now - 2 * self.window
        for stale in [k for k, state in self._state.items() if state[0] <= idle]:
            del self._state[stale]
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._state))


def growing_delay(failures: float, free: int, base: float, cap: float) -> float:
    """Seconds a key must wait after its ``failures``-th failure: none for the first
    ``free``, then ``base`` doubling with each further failure, never more than ``cap``."""
    if failures <= free:
        return 0.0
    return float(min(cap, base * 2 ** (failures - free - 1)))


class GrowingDelay:
    """Failures per key, each beyond ``free`` making the key wait twice as long as the
    one before (up to ``cap`` seconds); failures are forgotten ``forget`` seconds after
    the last one. Unlike a window it never locks a key out for longer than ``cap``:
    right for an account, whose owner must still get in while others guess."""

    def __init__(
        self,
        free: int,
        base: float,
        cap: float,
        forget: float,
        clock: Callable[[], float] = time.monotonic,
        name: str = "delay",
    ) -> None:
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self.name = name
        self._clock = clock
        # key -> [last failure, refused until, failures]
        self._state: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _current(self, key: str, now: float) -> list[float]:
        state = self._state.setdefault(key, [now, 0.0, 0.0])
        if now - state[0] > self.forget:
            state[2] = 0.0
        return state

    def take(self, key: str) -> float:
        with self._lock:
            now = self._clock()
            state = self._current(key, now)
            if state[1] > now:
                return state[1] - now + _MARGIN
            state[2] += 1
            state[0] = now
            state[1] = now + growing_delay(state[2], self.free, self.base, self.cap)
            if len(self._state) > _SWEEP_AT:
                idle = now - self.forget
                for stale in [k for k, v in self._state.items() if v[0] <= idle]:
                    del self._state[stale]
            return 0.0

    def hit(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            state = self._current(key, now)
            state[2] += 1
            state[0] = now
            state[1] = max(state[1], now + growing_delay(state[2], self.free, self.base, self.cap))

    def retry_after(self, key: str) -> float:
        with self._lock:
            now = self._clock()
            state = self._state.get(key)
            return 0.0 if state is None or state[1] <= now else state[1] - now + _MARGIN

    def release(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            state = self._current(key, now)
            state[2] = max(state[2] - 1, 0.0)
            state[1] = now


def refuse_if_limited(wait: float, message: str, limit: str = "limit") -> None:
    """A 429 with ``Retry-After`` (whole seconds, rounded up) when ``wait`` > 0."""
    if wait > 0:
        RATE_LIMITED.labels(limit).inc()
        seconds = int(wait) + 1
        raise RumboError(
            message,
            429,
            "rate_limited",
            {"retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )


def client_address(request: Request) -> str:
    """The client's address (the proxy's ``X-Forwarded-For`` when uvicorn trusts it)."""
    return request.client.host if request.client else "unknown"


def throttle(window: Limit, key: str, message: str) -> None:
    """Count a hit for ``key`` or refuse with 429 when it is over ``window``'s limit."""
    refuse_if_limited(window.take(key), message, window.name)


class StreamSlots:
    """Open long-lived streams, at most ``per_client`` per client address and ``total``
    in this process (each holds a connection and a subscription for as long as it lasts)."""

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self._open: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()

    def acquire(self, client: str) -> str | None:
        """Take a slot for ``client``; None when taken, else which cap is full."""
        with self._lock:
            if self._count >= self.total:
                return "streams_per_process"
            if self._open.get(client, 0) >= self.per_client:
                return "streams_per_client"
            self._open[client] = self._open.get(client, 0) + 1
            self._count += 1
            return None

    def release(self, client: str) -> None:
        with self._lock:
            left = self._open.get(client, 0) - 1
            if left > 0:
                self._open[client] = left
            else:
                self._open.pop(client, None)
            self._count = max(self._count - 1, 0)

    def open_for(self, client: str) -> int:
        return self._open.get(client, 0)


def take_all(keyed: Sequence[tuple[Limit, str]]) -> float:
    """Count one attempt in every limit, or in none: 0, or the longest wait found first."""
    taken: list[tuple[Limit, str]] = []
    for limit, key in keyed:
        wait = limit.take(key)
        if wait > 0:
            release_all(taken)
            return wait
        taken.append((limit, key))
    return 0.0


def release_all(keyed: Sequence[tuple[Limit, str]]) -> None:
    """Take back one counted attempt from every limit (it was not a failure)."""
    for limit, key in keyed:
        limit.release(key)
