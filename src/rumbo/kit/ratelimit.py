"""A small in-process sliding-window counter for abuse limits (per key, per window)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from rumbo.errors import RumboError


class SlidingWindow:
    """At most ``limit`` hits per ``window`` seconds per key."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            now = self._clock()
            hits = self._trim(key, now)
            if len(hits) < self.limit:
                return 0.0
            return max(hits[0] + self.window - now, 0.001)

    def hit(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._trim(key, now).append(now)
            if len(self._hits) > 100_000:  # forget idle keys rather than grow without bound
                for stale in [
                    k for k, v in self._hits.items() if not v or v[-1] <= now - self.window
                ]:
                    del self._hits[stale]


def refuse_if_limited(wait: float, message: str) -> None:
    """A 429 with ``Retry-After`` (whole seconds, rounded up) when ``wait`` > 0."""
    if wait > 0:
        seconds = int(wait) + 1
        raise RumboError(
            message,
            429,
            "rate_limited",
            {"retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )
