"""Positions from MQTT, the plausibility rules that protect a track, and geometry helpers."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rumbo.devices import (
    Position,
    PositionError,
    accept_fix,
    haversine_m,
    parse_mqtt_position,
    public_position,
)
from rumbo.devices.positions import Reason

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TOPIC = "rumbo/devices/courier-7/position"


def fix(minutes: float, lat: float = -23.55, lon: float = -46.63, **extra: float) -> Position:
    return Position("courier-7", lat, lon, NOW + timedelta(minutes=minutes), **extra)  # type: ignore[arg-type]


# --- MQTT -------------------------------------------------------------------------------------


def test_mqtt_payload_becomes_a_position() -> None:
    payload = {"lat": -23.55, "lon": -46.63, "timestamp": 1767268800, "speed": 32.5,
               "heading": 370, "accuracy": 8, "battery": 64}  # fmt: skip
    position = parse_mqtt_position(TOPIC, json.dumps(payload).encode())
    assert position.device_id == "courier-7"
    assert position.recorded_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert position.speed_kmh == 32.5  # MQTT speed is km/h (Rumbo's format)
    assert position.heading == 10
    assert (position.accuracy_m, position.battery) == (8, 64)
    assert position.raw == payload


@pytest.mark.parametrize(
    "timestamp", [1767268800, 1767268800000, "2026-01-01T12:00:00Z", "2026-01-01T09:00:00-03:00"]
)
def test_mqtt_timestamp_forms(timestamp: object) -> None:
    payload = json.dumps({"lat": 1, "lon": 2, "timestamp": timestamp}).encode()
    assert parse_mqtt_position(TOPIC, payload).recorded_at == NOW


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("rumbo/devices/+/position", b'{"lat": 1, "lon": 2, "timestamp": 1}'),
        ("rumbo/devices/a/b/position", b'{"lat": 1, "lon": 2, "timestamp": 1}'),
        (TOPIC, b'{"lat": 1, "lon": 2}'),
        (TOPIC, b'{"lat": "x", "lon": 2, "timestamp": 1}'),
        (TOPIC, b'{"lat": 1, "lon": 200, "timestamp": 1}'),
        (TOPIC, b'{"lat": true, "lon": 2, "timestamp": 1}'),
        (TOPIC, b"[]"),
        (TOPIC, b"\xff"),
    ],
)
def test_bad_mqtt_messages_raise_position_error(topic: str, payload: bytes) -> None:
    with pytest.raises(PositionError):
        parse_mqtt_position(topic, payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["lat", "lon", "timestamp", "speed", "heading", "accuracy", "battery", "altitude"]
            ),
            c,
            max_size=8,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(document=json_values, device=st.text(max_size=10))
def test_arbitrary_mqtt_messages_only_raise_position_error(document: object, device: str) -> None:
    with contextlib.suppress(PositionError):
        parse_mqtt_position(f"rumbo/devices/{device}/position", json.dumps(document).encode())


# --- plausibility -----------------------------------------------------------------------------


def test_first_fix_becomes_latest() -> None:
    verdict = accept_fix(None, fix(0), NOW)
    assert (verdict.store, verdict.becomes_latest, verdict.reason) == (True, True, Reason.FIRST_FIX)


def test_a_normal_move_becomes_latest() -> None:
    verdict = accept_fix(fix(0), fix(1, lat=-23.555), NOW + timedelta(minutes=1))
    assert verdict.becomes_latest
    assert verdict.implied_speed_kmh == pytest.approx(33.4, abs=0.5)


def test_fix_dated_in_the_future_is_rejected_not_clamped() -> None:
    verdict = accept_fix(None, fix(6), NOW)
    assert (verdict.store, verdict.becomes_latest, verdict.reason) == (
        False,
        False,
        Reason.IN_FUTURE,
    )
    assert accept_fix(None, fix(4), NOW).becomes_latest  # small clock skew is tolerated


def test_offline_upload_fills_the_track_but_never_replaces_latest() -> None:
    latest = fix(30)
    for minutes in (0, 10, 20, 30):
        verdict = accept_fix(latest, fix(minutes, lat=-23.56), NOW + timedelta(minutes=31))
        assert (verdict.store, verdict.becomes_latest, verdict.reason) == (
            True,
            False,
            Reason.OUT_OF_ORDER,
        )


def test_implausible_jump_is_stored_but_not_latest() -> None:
    # São Paulo to Rio (~360 km) in ten minutes
    verdict = accept_fix(fix(0), fix(10, lat=-22.90, lon=-43.17), NOW + timedelta(minutes=10))
    assert (verdict.store, verdict.becomes_latest, verdict.reason) == (
        True,
        False,
        Reason.IMPLAUSIBLE_JUMP,
    )
    assert verdict.implied_speed_kmh is not None
    assert verdict.implied_speed_kmh > 2000


def test_huge_accuracy_radius_is_not_latest() -> None:
    verdict = accept_fix(fix(0), fix(1, accuracy_m=5000), NOW + timedelta(minutes=1))
    assert (verdict.store, verdict.becomes_latest, verdict.reason) == (
        True,
        False,
        Reason.INACCURATE,
    )


def test_null_island_is_rejected() -> None:
    assert not accept_fix(None, fix(0, lat=0, lon=0), NOW).store


@settings(max_examples=100, deadline=None)
@given(
    minutes=st.lists(st.integers(min_value=-600, max_value=600), min_size=1, max_size=15),
    shuffle=st.randoms(),
)
def test_latest_only_moves_forward_in_time(minutes: list[int], shuffle: object) -> None:
    latest: Position | None = None
    fixes = [fix(m, lat=-23.55 + m / 100000) for m in minutes]
    shuffle.shuffle(fixes)  # type: ignore[attr-defined]
    for new in fixes:
        verdict = accept_fix(latest, new, NOW + timedelta(hours=11))
        if verdict.becomes_latest:
            assert latest is None or new.recorded_at > latest.recorded_at
            latest = new
    # Every fix here is plausible, so the newest one must end up as the latest.
    assert latest is not None
    assert latest.recorded_at == max(f.recorded_at for f in fixes)


# --- geometry ---------------------------------------------------------------------------------


def test_haversine_known_distances() -> None:
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)  # a degree at the equator
    assert haversine_m(-23.5505, -46.6333, -22.9068, -43.1729) == pytest.approx(361_000, rel=0.01)
    assert haversine_m(10, 20, 10, 20) == 0


def test_public_position_is_rounded_and_stripped() -> None:
    exact = fix(0, lat=-23.556789, lon=-46.639876, battery=50, accuracy_m=3)
    shown = public_position(exact)
    assert (shown.lat, shown.lon) == (-23.557, -46.64)
    assert haversine_m(exact.lat, exact.lon, shown.lat, shown.lon) < 100
    assert shown.battery is None
    assert shown.accuracy_m is None
    assert shown.raw == {}
