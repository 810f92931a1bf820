"""The synthetic history has the shape and the habits of a real store's."""

from __future__ import annotations

from collections import Counter
from datetime import date

from rumbo.eta.brazil import easter, is_working_day, national_holidays
from rumbo.eta.history import generate_history
from rumbo.events.status import Status


def test_history_is_deterministic_and_sorted() -> None:
    a, b = generate_history(500, seed=3), generate_history(500, seed=3)
    assert a == b
    assert [o.purchased_at for o in a] == sorted(o.purchased_at for o in a)
    assert generate_history(500, seed=4) != a


def test_history_has_journeys_in_order_and_conservative_promises() -> None:
    orders = generate_history(3000, seed=1)
    assert len(orders) == 3000
    statuses = Counter(o.status for o in orders)
    assert statuses[Status.DELIVERED] > 2500
    assert statuses[Status.CANCELLED] > 0
    assert statuses[Status.RETURNED] >= 0
    delivered = [o for o in orders if o.status is Status.DELIVERED]
    for o in delivered:
        assert o.approved_at
        assert o.shipped_at
        assert o.delivered_at
        assert o.promised_at
        assert o.purchased_at <= o.approved_at <= o.shipped_at <= o.delivered_at
        assert o.lane
        assert o.distance_km
        assert o.carrier
        assert o.item_count >= 1
    on_time = sum(
        o.delivered_at.date() <= o.promised_at.date()  # type: ignore[union-attr]
        for o in delivered
    )
    assert 0.85 < on_time / len(delivered) < 0.99  # stores promise conservatively
    cancelled = [o for o in orders if o.status is Status.CANCELLED]
    assert all(o.delivered_at is None for o in cancelled)


def test_history_ends_with_orders_still_on_their_way() -> None:
    orders = generate_history(3000, seed=2, start=date(2024, 1, 1), days=120)
    assert any(o.status in (Status.IN_TRANSIT, Status.PAYMENT_CONFIRMED) for o in orders[-300:])


def test_holidays_follow_the_law() -> None:
    assert easter(2024) == date(2024, 3, 31)
    assert easter(2025) == date(2025, 4, 20)
    h = national_holidays(2024)
    assert date(2024, 3, 29) in h  # Good Friday
    assert date(2024, 11, 20) in h
    assert date(2023, 11, 20) not in national_holidays(2023)
    assert not is_working_day(date(2024, 12, 25))
    assert is_working_day(date(2024, 12, 26))
