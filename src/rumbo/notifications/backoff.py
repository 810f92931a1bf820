"""When to try a failed delivery again: a fixed schedule over about a day, with jitter.

The waits grow quickly because the usual causes differ by scale: a blip (seconds),
a provider incident (minutes to hours), a store's endpoint down for the night
(hours). After the last wait the notification is marked failed, visibly. Jitter
spreads the retries of many messages that failed together (one outage) so they
do not all hit the recovering peer in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

# Waits after the 1st, 2nd, … failed attempt: 8 attempts over ~27.5 hours.
SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2  # each wait is scaled by a factor drawn uniformly from [0.8, 1.2]


class Uniform(Protocol):
    """The one method used from :class:`random.Random`, so tests can inject their own."""

    def uniform(self, a: float, b: float) -> float: ...


_default_rng = random.Random()


def next_attempt_at(
    attempts_so_far: int,
    now: datetime,
    rng: Uniform = _default_rng,
    *,
    schedule: Sequence[timedelta] = SCHEDULE,
    jitter: float = JITTER,
) -> datetime | None:
    """When to make the next attempt after ``attempts_so_far`` failed ones; ``None`` = give up.

    ``attempts_so_far == 0`` (nothing tried yet) is due ``now``.
    """
    if attempts_so_far < 0:
        raise ValueError("attempts_so_far cannot be negative")
    if not 0 <= jitter < 1:
        raise ValueError("jitter must be in [0, 1)")
    if attempts_so_far == 0:
        return now
    if attempts_so_far > len(schedule):
        return None
    wait = schedule[attempts_so_far - 1]
    factor = rng.uniform(1 - jitter, 1 + jitter)
    return now + wait * factor
