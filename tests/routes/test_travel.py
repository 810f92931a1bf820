"""The travel model learnt from tracks, and the pure day planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rumbo.devices.positions import haversine_m
from rumbo.routes.planning import Courier, Parcel, plan_day
from rumbo.routes.travel import Fix, TravelModel, learn

START = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)


def _track(speed_kmh: float, minutes: int) -> list[Fix]:
    """A courier driving straight north-east at ``speed_kmh``, a fix a minute."""
    fixes = []
    lat, lon = -23.56, -46.69
    step = speed_kmh / 3.6 * 60 / 2**0.5  # metres a minute along each axis
    for minute in range(minutes):
        fixes.append(Fix(START + timedelta(minutes=minute), lat, lon))
        lat += step / 111_320
        lon += step / 111_320 / 0.917
    return fixes


def test_speed_is_learnt_and_the_error_is_measured_on_held_out_tracks() -> None:
    tracks = [_track(30.0, 240) for _ in range(10)]
    model = learn(tracks)
    assert model.legs_learnt > 20
    assert model.heldout_legs > 0
    assert model.speed_kmh[START.hour] == pytest.approx(30.0, rel=0.05)
    assert model.heldout_mape is not None
    assert model.heldout_mape < 0.05
    a, b = tracks[0][0], tracks[0][60]
    seconds = model.seconds(a.lat, a.lon, b.lat, b.lon, START.hour)
    assert seconds == pytest.approx(3600, rel=0.05)


def test_too_few_tracks_keep_the_defaults() -> None:
    model = learn([_track(30.0, 8)])
    assert model == TravelModel(legs_learnt=model.legs_learnt, notes=model.notes)
    assert model.heldout_mae_seconds is None


def test_model_round_trips_through_its_stored_form() -> None:
    model = learn([_track(25.0, 240) for _ in range(6)])
    again = TravelModel.from_dict(model.as_dict())
    assert again.speed_kmh == pytest.approx(model.speed_kmh, rel=1e-3)
    assert again.circuity == pytest.approx(model.circuity, rel=1e-3)


def test_pinned_parcels_stay_with_their_courier_and_none_is_dropped() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    depot = (-23.5668, -46.6917)
    couriers = [Courier(key, START, START + timedelta(hours=8), capacity=10) for key in (101, 202)]
    parcels = [
        Parcel(n, depot[0] + 0.004 * (n % 5), depot[1] + 0.004 * (n // 5), 120, None)
        for n in range(1, 13)
    ]
    parcels[0] = Parcel(1, parcels[0].lat, parcels[0].lon, 120, pinned_to=202)
    day = plan_day(depot, couriers, parcels, TravelModel(), zone, seconds=1)
    served = sorted(v.parcel for route in day.routes.values() for v in route)
    assert sorted(served + day.unassigned) == list(range(1, 13))
    assert not day.unassigned
    assert 1 in [v.parcel for v in day.routes[202]]
    for route in day.routes.values():
        assert len(route) <= 10
        arrivals = [v.arrival for v in route]
        assert arrivals == sorted(arrivals)
    assert haversine_m(*depot, *depot) == 0


@settings(max_examples=25, deadline=None)
@given(
    places=st.lists(
        st.tuples(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)), min_size=0, max_size=30
    ),
    capacities=st.lists(st.integers(1, 12), min_size=1, max_size=4),
)
def test_every_parcel_is_served_once_or_returned_whatever_the_input(
    places: list[tuple[float, float]], capacities: list[int]
) -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    depot = (-23.5668, -46.6917)
    couriers = [
        Courier(n, START, START + timedelta(hours=4), capacity)
        for n, capacity in enumerate(capacities)
    ]
    parcels = [
        Parcel(n, depot[0] + dlat, depot[1] + dlon, 120) for n, (dlat, dlon) in enumerate(places)
    ]
    day = plan_day(depot, couriers, parcels, TravelModel(), zone, seconds=0.5)
    served = [v.parcel for route in day.routes.values() for v in route]
    assert sorted(served + day.unassigned) == list(range(len(places)))
    for courier in couriers:
        assert len(day.routes[courier.key]) <= courier.capacity
