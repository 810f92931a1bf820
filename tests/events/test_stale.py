"""Stale shipments: no news for longer than the usual gap of their lane and stage."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rumbo.db import Database
from rumbo.events.stale import (
    DEFAULT_GAP,
    FLOOR,
    DeliveredShipment,
    Gap,
    Scope,
    StaleGroupBy,
    learn,
    news_gaps,
    refresh_all,
    stale_counts,
    stored_thresholds,
    threshold_for,
    usual_gap,
)
from rumbo.events.status import Status
from rumbo.kit.clock import FixedClock
from tests.conftest import NOW, Tenant
from tests.factories import order_body

DAY = timedelta(days=1)
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
_numbers = itertools.count(1)


# --- the pure rule ------------------------------------------------------------------------


def test_gaps_are_attributed_to_the_stage_the_shipment_waited_in() -> None:
    events = [
        (T0, Status.PENDING),
        (T0 + DAY, Status.SHIPPED),
        (T0 + 2 * DAY, Status.IN_TRANSIT),
        (T0 + 2 * DAY + timedelta(hours=6), None),  # an informational scan is news too
        (T0 + 3 * DAY, Status.OUT_FOR_DELIVERY),
        (T0 + 3 * DAY + timedelta(hours=5), Status.DELIVERED),
        (T0 + 9 * DAY, Status.IN_TRANSIT),  # after delivery: not a wait for news
    ]
    assert news_gaps(events) == [
        (Status.PENDING, 86400.0),
        (Status.SHIPPED, 86400.0),
        (Status.IN_TRANSIT, 6 * 3600.0),
        (Status.IN_TRANSIT, 18 * 3600.0),
        (Status.OUT_FOR_DELIVERY, 5 * 3600.0),
    ]


moments = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=20 * 24).map(lambda h: T0 + timedelta(hours=h)),
        st.sampled_from([None, *Status]),
    ),
    max_size=25,
)


@given(events=moments, data=st.data())
def test_gaps_depend_on_the_set_of_events_not_their_order_or_repeats(
    events: list[tuple[datetime, Status | None]], data: st.DataObject
) -> None:
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    shuffled = data.draw(st.permutations(events + repeats))
    assert news_gaps(shuffled) == news_gaps(events)


@given(events=moments)
def test_gaps_are_positive_and_never_after_a_terminal_status(
    events: list[tuple[datetime, Status | None]],
) -> None:
    gaps = news_gaps(events)
    assert all(seconds > 0 for _, seconds in gaps)
    assert all(
        stage not in (Status.DELIVERED, Status.RETURNED, Status.CANCELLED) for stage, _ in gaps
    )
    assert len(gaps) <= max(0, len({at for at, _ in events}) - 1)


def test_usual_gap_is_the_90th_percentile_with_a_floor() -> None:
    assert usual_gap([3600.0 * h for h in range(1, 101)]) == 90 * 3600
    assert usual_gap([60.0] * 50) == FLOOR.total_seconds()


def _history(lane: str | None, carrier: str, gap: timedelta, n: int) -> list[DeliveredShipment]:
    def events(k: int) -> list[tuple[datetime, Status | None]]:
        start = T0 + k * timedelta(hours=1)
        return [
            (start, Status.SHIPPED),
            (start + gap, Status.IN_TRANSIT),
            (start + 2 * gap, Status.IN_TRANSIT),
            (start + 3 * gap, Status.DELIVERED),
        ]

    return [DeliveredShipment(carrier, lane, events(k)) for k in range(n)]


def test_thresholds_fall_back_from_lane_to_carrier_to_store_to_default() -> None:
    learnt = learn(
        _history("SP>RJ", "correios", DAY, 10) + _history("SP>AM", "correios", 4 * DAY, 4),
        min_gaps=20,
    )
    in_transit = Status.IN_TRANSIT.value
    assert learnt[Scope(lane="SP>RJ", stage=in_transit)] == Gap(86400, 20)
    assert Scope(lane="SP>AM", stage=in_transit) not in learnt  # 8 gaps: too few
    assert learnt[Scope(carrier="correios", stage=in_transit)] == Gap(4 * 86400, 28)
    assert threshold_for(learnt, "correios", "SP>RJ", in_transit) == DAY
    assert threshold_for(learnt, "correios", "SP>AM", in_transit) == 4 * DAY
    assert threshold_for(learnt, "jadlog", None, in_transit) == 4 * DAY  # the store's
    assert threshold_for(learnt, "jadlog", None, Status.PREPARING.value) == 4 * DAY  # any stage
    assert threshold_for({}, "jadlog", "SP>RJ", in_transit) == DEFAULT_GAP


# --- through the database and the API -------------------------------------------------------


def _order(
    client: TestClient,
    tenant: Tenant,
    origin: str,
    destination: str,
    placed: datetime,
    clock: FixedClock | None = None,
) -> Any:
    if clock is not None:  # the store registers the order when it is placed
        clock.advance(placed - clock.now())
    body = order_body(
        origin={"city": "São Paulo", "state": origin, "country": "BR"},
        placed_at=placed.isoformat(),
    )
    body["destination"] = body["destination"] | {"state": destination}
    response = client.post("/api/v1/orders", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


Story = tuple[Any, str, list[tuple[datetime, str]]]


def _parcel(client: TestClient, tenant: Tenant, order: Any, prefix: str) -> str:
    """Register a parcel now (by the test's clock): the carrier's events come later."""
    number = f"{prefix}{next(_numbers):06d}BR"
    response = client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": number},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return number


def _events(client: TestClient, tenant: Tenant, stories: list[Story]) -> None:
    """Post the carriers' events once the clock has caught up with them (events dated
    after the server's clock are refused)."""
    for order, parcel, steps in stories:
        body = [
            {
                "event_id": f"{parcel}-{i}",
                "source": "carrier",
                "tracking_code": order["tracking_code"],
                "carrier": "correios",
                "tracking_number": parcel,
                "status": status,
                "occurred_at": at.isoformat(),
            }
            for i, (at, status) in enumerate(steps)
        ]
        response = client.post("/api/v1/events", json=body, headers=tenant.headers)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(steps)


def _delivered(
    client: TestClient,
    tenant: Tenant,
    origin: str,
    destination: str,
    gap: timedelta,
    start: datetime,
    clock: FixedClock,
) -> Story:
    order = _order(client, tenant, origin, destination, start - gap, clock)
    steps = [(start, "shipped"), (start + gap, "in_transit"), (start + 2 * gap, "in_transit")]
    steps.append((start + 3 * gap, "delivered"))
    return order, _parcel(client, tenant, order, "HIST"), steps


def _open(
    client: TestClient,
    tenant: Tenant,
    origin: str,
    destination: str,
    last: datetime,
    status: str,
    clock: FixedClock,
) -> Story:
    order = _order(client, tenant, origin, destination, last - 3 * DAY, clock)
    return order, _parcel(client, tenant, order, "OPEN"), [(last - DAY, "shipped"), (last, status)]


def _store_with_history(
    client: TestClient, tenant: Tenant, clock: FixedClock, db: Database
) -> dict[str, int]:
    """SP>RJ parcels usually hear news daily, SP>AM ones every four days (too few to
    count on their own: their carrier's figure applies); then the open parcels."""
    history = [
        _delivered(client, tenant, "SP", "RJ", DAY, NOW - 40 * DAY + k * timedelta(hours=3), clock)
        for k in range(10)
    ] + [
        _delivered(
            client, tenant, "SP", "AM", 4 * DAY, NOW - 40 * DAY + k * timedelta(hours=3), clock
        )
        for k in range(4)
    ]
    opened = {
        "rj_silent_2d": _open(client, tenant, "SP", "RJ", NOW - 2 * DAY, "in_transit", clock),
        "rj_silent_12h": _open(
            client, tenant, "SP", "RJ", NOW - timedelta(hours=12), "in_transit", clock
        ),
        "rj_delivered_10d_ago": _open(
            client, tenant, "SP", "RJ", NOW - 10 * DAY, "delivered", clock
        ),
        "am_silent_2d": _open(client, tenant, "SP", "AM", NOW - 2 * DAY, "in_transit", clock),
        "am_silent_5d": _open(client, tenant, "SP", "AM", NOW - 5 * DAY, "in_transit", clock),
    }
    clock.advance(NOW - clock.now())
    _events(client, tenant, history + list(opened.values()))
    assert refresh_all(db, NOW) == 1
    return {name: int(order["id"]) for name, (order, _, _) in opened.items()}


def _shipment(client: TestClient, tenant: Tenant, order_id: int) -> Any:
    response = client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    (shipment,) = response.json()["shipments"]
    return shipment


def test_a_parcel_silent_longer_than_its_lanes_usual_gap_is_stale(
    client: TestClient, tenant: Tenant, clock: FixedClock, db: Database
) -> None:
    opened = _store_with_history(client, tenant, clock, db)

    with db.session(write=False) as session:
        learnt = stored_thresholds(session, tenant.merchant_id)
    assert learnt[Scope(lane="SP>RJ", stage="in_transit")].seconds == 86400
    assert learnt[Scope(carrier="correios", stage="in_transit")].seconds == 4 * 86400

    silent = _shipment(client, tenant, opened["rj_silent_2d"])
    assert silent["stale"] is True
    assert silent["usual_gap_hours"] == 24.0
    assert silent["last_event_at"] == (NOW - 2 * DAY).isoformat().replace("+00:00", "Z")
    assert silent["stale_since"] == (NOW - DAY).isoformat().replace("+00:00", "Z")

    recent = _shipment(client, tenant, opened["rj_silent_12h"])
    assert (recent["stale"], recent["stale_since"]) == (False, None)

    assert _shipment(client, tenant, opened["rj_delivered_10d_ago"])["stale"] is False
    # A lane without enough history of its own: its carrier's usual gap (4 days).
    assert _shipment(client, tenant, opened["am_silent_2d"])["stale"] is False
    far = _shipment(client, tenant, opened["am_silent_5d"])
    assert (far["stale"], far["usual_gap_hours"]) == (True, 96.0)


def _listed(client: TestClient, tenant: Tenant, **params: Any) -> set[int]:
    response = client.get("/api/v1/orders", params=params | {"limit": 200}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {order["id"] for order in response.json()["items"]}


def test_the_stale_filter_agrees_with_the_flag_shown(
    client: TestClient, tenant: Tenant, clock: FixedClock, db: Database, other_tenant: Tenant
) -> None:
    opened = _store_with_history(client, tenant, clock, db)

    stale = _listed(client, tenant, stale="true")
    assert stale == {opened["rj_silent_2d"], opened["am_silent_5d"]}
    everything = _listed(client, tenant)
    assert _listed(client, tenant, stale="false") == everything - stale
    for order_id in everything:
        assert _shipment(client, tenant, order_id)["stale"] is (order_id in stale)
    assert _listed(client, other_tenant, stale="true") == set()

    # News arrives: the parcel is no longer stale, at once, without a refresh.
    order = client.get(f"/api/v1/orders/{opened['rj_silent_2d']}", headers=tenant.headers).json()
    parcel = order["shipments"][0]["tracking_number"]
    body = {
        "event_id": "news-1",
        "source": "carrier",
        "carrier": "correios",
        "tracking_number": parcel,
        "status": "in_transit",
        "occurred_at": (NOW - timedelta(hours=2)).isoformat(),
    }
    assert client.post("/api/v1/events", json=body, headers=tenant.headers).status_code == 201
    assert _listed(client, tenant, stale="true") == {opened["am_silent_5d"]}

    # Time passes: the 12-hour-silent parcel's day runs out.
    clock.advance(timedelta(hours=13))
    assert opened["rj_silent_12h"] in _listed(client, tenant, stale="true")


def test_stale_counts_per_lane_for_analytics(
    client: TestClient, tenant: Tenant, clock: FixedClock, db: Database
) -> None:
    _store_with_history(client, tenant, clock, db)
    with db.session(write=False) as session:
        total = stale_counts(session, tenant.merchant_id, NOW)
        per_lane = stale_counts(session, tenant.merchant_id, NOW, StaleGroupBy.LANE)
        per_stage = stale_counts(session, tenant.merchant_id, NOW, StaleGroupBy.STAGE)
    assert [(c.group, c.open, c.stale) for c in total] == [(None, 4, 2)]
    assert [(c.group, c.open, c.stale) for c in per_lane] == [("SP>AM", 2, 1), ("SP>RJ", 2, 1)]
    assert [(c.group, c.open, c.stale) for c in per_stage] == [("in_transit", 4, 2)]


def test_without_history_the_default_gap_applies(
    client: TestClient, tenant: Tenant, clock: FixedClock, db: Database
) -> None:
    stories = [
        _open(client, tenant, "SP", "RJ", NOW - 4 * DAY, "in_transit", clock),
        _open(client, tenant, "SP", "RJ", NOW - 2 * DAY, "in_transit", clock),
    ]
    clock.advance(NOW - clock.now())
    _events(client, tenant, stories)
    quiet, fresh = (int(order["id"]) for order, _, _ in stories)
    assert _shipment(client, tenant, quiet)["stale"] is True
    assert _shipment(client, tenant, fresh)["usual_gap_hours"] == DEFAULT_GAP.total_seconds() / 3600
    assert _shipment(client, tenant, fresh)["stale"] is False


def test_a_newly_registered_parcel_is_news(client: TestClient, tenant: Tenant) -> None:
    order = _order(client, tenant, "SP", "RJ", NOW - 30 * DAY)
    response = client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": "NEW000001BR"},
        headers=tenant.headers,
    )
    assert response.status_code == 201
    assert response.json()["stale"] is False
    assert response.json()["last_event_at"] is not None  # the order's own "placed"


def test_a_bad_stale_filter_is_a_422(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/api/v1/orders", params={"stale": "maybe"}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
