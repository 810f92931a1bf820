"""Features see only the past: the no-leakage specification."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rumbo.eta.features import (
    FEATURE_NAMES,
    HistoryIndex,
    Stage,
    features_at,
    snapshots,
    stage_of,
)
from rumbo.eta.history import OrderHistory, generate_history
from rumbo.events.status import Status

HISTORY = generate_history(1500, seed=11)


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def _shift_future(order: OrderHistory, at: datetime, days: float) -> OrderHistory:
    """Move every milestone of ``order`` that happens after ``at`` later by ``days``."""

    def later(t: datetime | None) -> datetime | None:
        return t + timedelta(days=days) if t is not None and t > at else t

    return replace(
        order,
        approved_at=later(order.approved_at),
        shipped_at=later(order.shipped_at),
        delivered_at=later(order.delivered_at),
    )


@settings(max_examples=25, deadline=None)
@given(
    pick=st.integers(0, len(HISTORY) - 1),
    stage=st.sampled_from([0, 1, 2]),
    days=st.floats(0.1, 40.0),
)
def test_changing_what_happens_after_the_moment_changes_no_feature(
    pick: int, stage: int, days: float
) -> None:
    order = HISTORY[pick]
    moments = [order.purchased_at, order.approved_at, order.shipped_at]
    at = moments[stage] or order.purchased_at
    before = features_at(order, at, HistoryIndex(HISTORY))
    # Every order's future — including this order's own outcome — moves.
    changed = [_shift_future(h, at, days) for h in HISTORY]
    after = features_at(changed[pick], at, HistoryIndex(changed))
    assert _same(before.features, after.features)
    assert before.stage == after.stage


def test_an_order_completed_one_second_after_the_moment_does_not_count() -> None:
    base = HISTORY[700]
    at = base.purchased_at
    probe = replace(
        HISTORY[0],
        order_id="probe",
        purchased_at=at - timedelta(days=5),
        approved_at=at - timedelta(days=5),
        shipped_at=at - timedelta(days=4),
        delivered_at=at + timedelta(seconds=1),
    )
    just_after = HistoryIndex([*HISTORY, probe])
    much_later = HistoryIndex([*HISTORY, replace(probe, delivered_at=at + timedelta(days=90))])
    assert _same(
        features_at(base, at, just_after).features, features_at(base, at, much_later).features
    )
    sooner = HistoryIndex([*HISTORY, replace(probe, delivered_at=at - timedelta(seconds=1))])
    transit = FEATURE_NAMES.index("transit_recent")
    assert (
        features_at(base, at, sooner).features[transit]
        != features_at(base, at, just_after).features[transit]
    )


def test_snapshots_cover_each_stage_with_the_remaining_days_as_target() -> None:
    rows = list(snapshots(HISTORY[:200], HistoryIndex(HISTORY)))
    assert {r.stage for r in rows} == set(Stage)
    for r in rows:
        assert r.remaining_days is not None
        assert r.remaining_days > 0
        assert len(r.features) == len(FEATURE_NAMES)


def test_status_maps_onto_a_prediction_stage() -> None:
    assert stage_of(Status.PENDING) is Stage.PLACED
    assert stage_of(Status.PREPARING) is Stage.PAID
    assert stage_of(Status.OUT_FOR_DELIVERY) is Stage.SHIPPED
    assert stage_of(Status.DELIVERED) is None


def _delivered(order_id: str, state: str, purchased: datetime, days: float) -> OrderHistory:
    return replace(
        HISTORY[0],
        order_id=order_id,
        customer_state=state,
        seller_state="SP",
        purchased_at=purchased,
        approved_at=purchased,
        shipped_at=purchased + timedelta(days=1),
        delivered_at=purchased + timedelta(days=days),
    )


def test_a_destination_with_few_deliveries_is_shrunk_towards_the_network() -> None:
    start = datetime(2024, 1, 1)
    many = [_delivered(f"sp{i}", "SP", start + timedelta(hours=i), 4.0) for i in range(300)]
    few = [_delivered(f"am{i}", "AM", start + timedelta(hours=i), 20.0) for i in range(3)]
    index = HistoryIndex([*many, *few])
    at = datetime(2024, 3, 1)
    sp, _ = index.prior("ltotal", "SP", "SP>SP", at)
    am, _ = index.prior("ltotal", "AM", "SP>AM", at)
    network = index.recent("ltotal", at, 1000)[0]
    assert abs(math.expm1(sp) - 4.0) < 0.5  # 300 of its own: its own level
    # Three deliveries in 20 days move the prior only part of the way from the network.
    assert network < am < math.log1p(20.0)
    assert am - network < (math.log1p(20.0) - network) / 2
    # Before the first delivery nothing is known.
    assert all(math.isnan(v) for v in index.prior("ltotal", "AM", "SP>AM", start))


def test_a_surge_of_orders_shows_in_the_load_the_day_it_is_placed() -> None:
    start = datetime(2024, 1, 1)
    steady = [
        _delivered(f"o{i}", "SP", start + timedelta(hours=4 * i), 5.0) for i in range(6 * 200)
    ]
    at = start + timedelta(days=200)
    surge = [
        replace(
            _delivered(f"bf{i}", "SP", at - timedelta(days=2, minutes=i), 5.0),
            shipped_at=None,
            delivered_at=None,
            status=Status.PAYMENT_CONFIRMED,
        )
        for i in range(300)
    ]
    calm, busy = HistoryIndex(steady), HistoryIndex([*steady, *surge])
    order = steady[-1]
    surge_col, backlog_col = (
        FEATURE_NAMES.index("placed_surge"),
        FEATURE_NAMES.index("backlog_load"),
    )
    delivered_col = FEATURE_NAMES.index("total_load")
    before, after = features_at(order, at, calm).features, features_at(order, at, busy).features
    assert abs(before[surge_col]) < 0.1
    assert abs(before[backlog_col]) < 0.1
    # Nothing of the surge has been delivered: the delivered load cannot see it yet,
    # the orders placed and still open do.
    assert after[delivered_col] == before[delivered_col]
    assert after[surge_col] > 1.0
    assert after[backlog_col] > 0.5
    # Two days before the surge, it is invisible.
    earlier = at - timedelta(days=3)
    assert _same(
        features_at(order, earlier, calm).features, features_at(order, earlier, busy).features
    )


def test_the_backlog_reads_only_deliveries_before_the_moment() -> None:
    base = HISTORY[900]
    at = base.purchased_at
    col = FEATURE_NAMES.index("backlog_load")
    open_now = replace(HISTORY[0], order_id="probe", purchased_at=at - timedelta(days=3))
    soon = HistoryIndex([*HISTORY, replace(open_now, delivered_at=at + timedelta(seconds=1))])
    late = HistoryIndex([*HISTORY, replace(open_now, delivered_at=at + timedelta(days=40))])
    done = HistoryIndex([*HISTORY, replace(open_now, delivered_at=at - timedelta(seconds=1))])
    assert features_at(base, at, soon).features[col] == features_at(base, at, late).features[col]
    assert features_at(base, at, done).features[col] < features_at(base, at, soon).features[col]
