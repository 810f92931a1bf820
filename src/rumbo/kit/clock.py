"""The one clock. Code asks ``clock.now()``; tests inject a :class:`FixedClock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from fastapi import Depends, Request


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def clock_of(request: Request) -> Clock:
    """The application's clock (for hot paths that take no dependency: see ClockDep)."""
    clock: Clock = request.app.state.clock
    return clock


async def _clock(request: Request) -> Clock:
    return clock_of(request)


# ``async``: FastAPI runs a plain ``def`` dependency on a worker thread, a hop per request.
ClockDep = Annotated[Clock, Depends(_clock)]
