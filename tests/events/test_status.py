"""The precedence rule: a status is a function of the set of events, never their order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rumbo.events.status import Status, StatusKey, derive_order_status, latest

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def key(
    status: Status, hours: float, source: str = "carrier", event_id: str | None = None
) -> StatusKey:
    return StatusKey.of(
        status, T0 + timedelta(hours=hours), source, event_id or f"{status}-{hours}"
    )


def status_of(*keys: StatusKey) -> Status:
    winner = latest(keys)
    assert winner is not None
    return winner.status


def test_later_event_wins() -> None:
    assert status_of(key(Status.SHIPPED, 1), key(Status.IN_TRANSIT, 2)) is Status.IN_TRANSIT


def test_late_arriving_earlier_event_never_downgrades() -> None:
    assert status_of(key(Status.IN_TRANSIT, 5), key(Status.SHIPPED, 1)) is Status.IN_TRANSIT


def test_equal_times_the_further_milestone_wins() -> None:
    assert (
        status_of(key(Status.OUT_FOR_DELIVERY, 3), key(Status.IN_TRANSIT, 3))
        is Status.OUT_FOR_DELIVERY
    )


def test_delivered_is_not_left_by_a_later_scan() -> None:
    proof = key(Status.DELIVERED, 5, source="device")
    stray_scan = key(Status.IN_TRANSIT, 6, source="carrier")
    assert status_of(proof, stray_scan) is Status.DELIVERED


def test_returned_after_delivered_leaves_the_terminal_state() -> None:
    assert status_of(key(Status.DELIVERED, 5), key(Status.RETURNED, 30)) is Status.RETURNED


def test_exception_then_recovery_moves_on() -> None:
    assert (
        status_of(key(Status.EXCEPTION, 2), key(Status.OUT_FOR_DELIVERY, 4))
        is Status.OUT_FOR_DELIVERY
    )


def test_a_late_payment_never_pulls_a_shipped_parcel_back() -> None:
    # A card captured at dispatch, a boleto confirmed late: 11:00 after shipped at 10:00.
    shipped = key(Status.SHIPPED, 10)
    paid = key(Status.PAYMENT_CONFIRMED, 11, source="payment")
    assert status_of(shipped, paid) is Status.SHIPPED
    assert status_of(paid, shipped) is Status.SHIPPED


def test_no_store_stage_outranks_any_carrier_stage_whatever_the_times() -> None:
    for store in (Status.PENDING, Status.PAYMENT_CONFIRMED, Status.PREPARING):
        for carrier in (
            Status.SHIPPED,
            Status.IN_TRANSIT,
            Status.EXCEPTION,
            Status.OUT_FOR_DELIVERY,
            Status.DELIVERY_FAILED,
            Status.AVAILABLE_FOR_PICKUP,
        ):
            assert status_of(key(carrier, 0), key(store, 500, source="store")) is carrier


def test_the_carrier_phase_keeps_its_real_back_and_forth() -> None:
    journey = [
        key(Status.SHIPPED, 1),
        key(Status.IN_TRANSIT, 2),
        key(Status.OUT_FOR_DELIVERY, 3),
        key(Status.DELIVERY_FAILED, 4),
        key(Status.IN_TRANSIT, 5),
        key(Status.OUT_FOR_DELIVERY, 6),
    ]
    seen = [status_of(*journey[: n + 1]) for n in range(len(journey))]
    assert seen == [
        Status.SHIPPED,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.IN_TRANSIT,
        Status.OUT_FOR_DELIVERY,
    ]


def test_the_store_phase_only_moves_forward() -> None:
    picking = key(Status.PREPARING, 2, source="warehouse")
    captured = key(Status.PAYMENT_CONFIRMED, 3, source="payment")
    assert status_of(picking, captured) is Status.PREPARING


def test_the_placed_record_never_outranks_a_real_event() -> None:
    # An order registered after its first events: "placed" is stamped on receipt.
    placed = key(Status.PENDING, 48, source="rumbo", event_id="order-placed:1")
    assert status_of(placed, key(Status.PAYMENT_CONFIRMED, 1, source="payment")) is (
        Status.PAYMENT_CONFIRMED
    )
    assert status_of(placed, key(Status.IN_TRANSIT, 1)) is Status.IN_TRANSIT


def test_a_cancel_still_ends_the_journey_in_any_phase() -> None:
    assert status_of(key(Status.IN_TRANSIT, 5), key(Status.CANCELLED, 1, "store")) is (
        Status.CANCELLED
    )


def test_identical_times_and_ranks_break_ties_deterministically() -> None:
    a = key(Status.IN_TRANSIT, 2, source="carrier", event_id="a")
    b = key(Status.IN_TRANSIT, 2, source="warehouse", event_id="b")
    assert latest([a, b]) == latest([b, a]) == b


def test_order_without_shipments_takes_its_own_status() -> None:
    result = derive_order_status(key(Status.PAYMENT_CONFIRMED, 1), [])
    assert result.status is Status.PAYMENT_CONFIRMED
    assert result.shipments_total == 0


def test_order_with_no_events_is_pending() -> None:
    assert derive_order_status(None, []).status is Status.PENDING


def test_order_delivered_only_when_every_shipment_is() -> None:
    paid = key(Status.PAYMENT_CONFIRMED, 1)
    partial = derive_order_status(paid, [key(Status.DELIVERED, 40), key(Status.IN_TRANSIT, 30)])
    assert partial.status is Status.IN_TRANSIT
    assert partial.partially_delivered
    assert (partial.shipments_total, partial.shipments_delivered) == (2, 1)
    done = derive_order_status(paid, [key(Status.DELIVERED, 40), key(Status.DELIVERED, 41)])
    assert done.status is Status.DELIVERED
    assert not done.partially_delivered
    assert done.at == T0 + timedelta(hours=41)


def test_an_exception_in_one_parcel_surfaces_on_the_order() -> None:
    result = derive_order_status(
        None,
        [key(Status.OUT_FOR_DELIVERY, 30), key(Status.DELIVERY_FAILED, 31), key(Status.SHIPPED, 5)],
    )
    assert result.status is Status.DELIVERY_FAILED


def test_order_wide_event_applies_to_every_shipment() -> None:
    cancelled = key(Status.CANCELLED, 10, source="store")
    result = derive_order_status(cancelled, [None, key(Status.SHIPPED, 2)])
    assert result.status is Status.CANCELLED


def test_shipment_without_events_inherits_the_order_stage() -> None:
    result = derive_order_status(key(Status.PREPARING, 3), [None, key(Status.IN_TRANSIT, 9)])
    assert result.status is Status.PREPARING


def test_all_terminal_mixed_returns_delivered() -> None:
    result = derive_order_status(None, [key(Status.DELIVERED, 9), key(Status.RETURNED, 20)])
    assert result.status is Status.DELIVERED


statuses = st.sampled_from(list(Status))
keys = st.builds(
    lambda s, h, src, n: key(s, h, source=src, event_id=str(n)),
    statuses,
    st.integers(0, 12),
    st.sampled_from(["store", "payment", "warehouse", "carrier", "device"]),
    st.integers(0, 5),
)


@given(st.lists(keys, max_size=15), st.randoms())
def test_any_permutation_and_duplication_gives_the_same_status(
    events: list[StatusKey], rnd: random.Random
) -> None:
    shuffled = events + rnd.sample(events, k=len(events) // 2)
    rnd.shuffle(shuffled)
    assert latest(shuffled) == latest(events)


@given(
    st.lists(keys, max_size=6),
    st.lists(st.lists(keys, max_size=6), max_size=3),
    st.randoms(),
)
def test_order_status_ignores_arrival_order(
    order_events: list[StatusKey], shipment_events: list[list[StatusKey]], rnd: random.Random
) -> None:
    def fold(evts: list[StatusKey]) -> StatusKey | None:
        copy = evts + evts[:1]
        rnd.shuffle(copy)
        return latest(copy)

    expected = derive_order_status(latest(order_events), [latest(e) for e in shipment_events])
    got = derive_order_status(fold(order_events), [fold(e) for e in shipment_events])
    assert got == expected


STORE_STAGES = (Status.PENDING, Status.PAYMENT_CONFIRMED, Status.PREPARING)
skewed = st.builds(
    lambda s, minutes, src, n: StatusKey.of(s, T0 + timedelta(minutes=minutes), src, f"{src}-{n}"),
    statuses,
    # Clocks that disagree by days, in both directions.
    st.integers(-5 * 24 * 60, 5 * 24 * 60),
    st.sampled_from(["store", "payment", "warehouse", "carrier", "device", "rumbo"]),
    st.integers(0, 50),
)


@given(st.lists(skewed, min_size=1, max_size=25), st.randoms())
def test_once_with_the_carrier_the_status_never_returns_to_a_store_stage(
    events: list[StatusKey], rnd: random.Random
) -> None:
    # Feed the events one at a time in a random order, with repeats, folding each into
    # the running maximum as ingestion does.
    arrival = events + rnd.sample(events, k=len(events) // 3)
    rnd.shuffle(arrival)
    running: StatusKey | None = None
    left_the_store = False
    for event in arrival:
        running = latest([running, event])
        assert running is not None
        if running.status not in STORE_STAGES:
            left_the_store = True
        elif left_the_store:
            raise AssertionError(f"back to {running.status} after the carrier phase")
    assert running == latest(events)


@given(st.lists(keys, min_size=1, max_size=10), keys)
def test_incremental_fold_equals_recomputation(events: list[StatusKey], new: StatusKey) -> None:
    assert latest([latest(events), new]) == latest([*events, new])
