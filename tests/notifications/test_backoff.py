"""Retry schedule: about a day of attempts, jittered, then give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rumbo.notifications.backoff import SCHEDULE, next_attempt_at

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


class Fixed:
    """An RNG that always draws the same point of the interval (0 = low end, 1 = high end)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.at


def test_without_jitter_the_waits_are_the_schedule() -> None:
    waits = [next_attempt_at(n, NOW, Fixed(0.5)) for n in range(1, 8)]
    assert [w - NOW for w in waits if w is not None] == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]


def test_the_whole_schedule_spans_about_a_day() -> None:
    assert timedelta(hours=24) < sum(SCHEDULE, timedelta()) < timedelta(hours=30)


def test_nothing_tried_yet_is_due_now() -> None:
    assert next_attempt_at(0, NOW) == NOW


def test_after_the_last_wait_it_gives_up() -> None:
    assert next_attempt_at(len(SCHEDULE), NOW, Fixed(0.5)) is not None
    assert next_attempt_at(len(SCHEDULE) + 1, NOW, Fixed(0.5)) is None
    assert next_attempt_at(100, NOW) is None


def test_jitter_is_twenty_percent_either_way() -> None:
    assert next_attempt_at(4, NOW, Fixed(0.0)) == NOW + timedelta(hours=2) * 0.8
    assert next_attempt_at(4, NOW, Fixed(1.0)) == NOW + timedelta(hours=2) * 1.2


def test_the_same_seed_gives_the_same_schedule() -> None:
    one = [next_attempt_at(n, NOW, random.Random(7)) for n in range(1, 9)]
    two = [next_attempt_at(n, NOW, random.Random(7)) for n in range(1, 9)]
    assert one == two


def test_negative_attempts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        next_attempt_at(-1, NOW)


@given(st.integers(min_value=1, max_value=len(SCHEDULE)), st.randoms(use_true_random=False))
def test_each_wait_stays_within_the_jitter_band(attempts: int, rng: random.Random) -> None:
    at = next_attempt_at(attempts, NOW, rng)
    assert at is not None
    base = SCHEDULE[attempts - 1]
    assert NOW + base * 0.8 <= at <= NOW + base * 1.2


def test_waits_grow_even_with_adverse_jitter() -> None:
    # The high end of one wait is below the low end of the next (except the final plateau).
    for shorter, longer in zip(SCHEDULE, SCHEDULE[1:], strict=False):
        assert shorter * 1.2 <= longer * 0.8 or shorter == longer
