"""OsmAnd protocol: every request from Traccar's own decoder tests, and hostile input."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rumbo.devices import PositionError, parse_osmand_json, parse_osmand_query, parse_osmand_request

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def traccar(shared_data: Path) -> Path:
    return shared_data / "traccar"


def query_samples(traccar: Path) -> list[str]:
    return [
        line.strip()
        for line in (traccar / "osmand_query_samples.txt").read_text("utf-8").splitlines()
        if line.strip()
    ]


def test_every_query_sample_parses_or_fails_as_traccar_would(traccar: Path) -> None:
    samples = query_samples(traccar)
    assert len(samples) == 11
    outcomes = []
    for sample in samples:
        try:
            outcomes.append(parse_osmand_query(sample, NOW).device_id)
        except PositionError as error:
            outcomes.append(f"error: {error.message}")
    assert outcomes == [
        "error: no coordinates (lat and lon, or location)",  # cell/wifi only
        "error: no device id (id or deviceid)",  # Traccar answers 400
        "902064",
        "902064",
        "353861053849681",
        "123456",
        "123456",
        "123456",  # deviceid=
        "861001000719969",
        "123456",  # location=lat,lon
        "123456789012345",
    ]


def test_iso_timestamp_and_units(traccar: Path) -> None:
    position = parse_osmand_query(query_samples(traccar)[2], NOW)
    assert position.recorded_at == datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)
    assert (position.lat, position.lon, position.altitude) == (42.06288, -88.23412, 224.0)
    assert position.raw["hdop"] == "6.0"


def test_millisecond_timestamp(traccar: Path) -> None:
    position = parse_osmand_query(query_samples(traccar)[3], NOW)
    assert position.recorded_at == datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)


def test_plain_date_time_is_utc(traccar: Path) -> None:
    position = parse_osmand_query(query_samples(traccar)[4], NOW)
    assert position.recorded_at == datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC)


def test_missing_timestamp_is_now_and_battery_is_kept(traccar: Path) -> None:
    position = parse_osmand_query(query_samples(traccar)[8], NOW)
    assert position.recorded_at == NOW
    assert position.battery == 87


def test_speed_is_knots_by_default_and_extra_parameters_are_kept(traccar: Path) -> None:
    position = parse_osmand_query(query_samples(traccar)[10], NOW)
    assert position.speed_kmh == pytest.approx(40 * 1.852)
    assert position.heading == pytest.approx(7.19889788244)
    assert position.raw["ignition"] == "true"
    assert parse_osmand_query(query_samples(traccar)[10], NOW, "kmh").speed_kmh == 40


def test_location_parameter(traccar: Path) -> None:
    position = parse_osmand_query(query_samples(traccar)[9], NOW)
    assert (position.lat, position.lon) == (60.0, 30.0)


def test_every_json_body_sample_parses(traccar: Path) -> None:
    lines = (traccar / "osmand_json_body_samples.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 4
    positions = [p for line in lines for p in parse_osmand_json(line.encode(), NOW)]
    assert [p.device_id for p in positions] == ["48241179", "48241179", "658765", "8737767034"]
    first, _, mock, moving = positions
    assert first.recorded_at == datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)
    assert first.heading is None  # -1 means unknown
    assert first.battery == 100
    assert mock.speed_kmh is None  # -1 m/s means unknown
    assert mock.battery is None  # level -1
    assert moving.speed_kmh == pytest.approx(18.67 * 3.6)
    assert moving.battery == pytest.approx(79)
    assert moving.accuracy_m == 3.8


def test_request_dispatch_json_then_query_then_form(traccar: Path) -> None:
    line = (traccar / "osmand_json_body_samples.jsonl").read_text("utf-8").splitlines()[3]
    assert (
        parse_osmand_request("/", line.encode(), "application/json; charset=utf-8", NOW)[
            0
        ].device_id
        == "8737767034"
    )
    assert parse_osmand_request("/?id=7&lat=1&lon=2", b"", None, NOW)[0].device_id == "7"
    form = parse_osmand_request("/", b"id=8&lat=1&lon=2", "application/x-www-form-urlencoded", NOW)
    assert form[0].device_id == "8"


def test_batch_of_locations() -> None:
    body = json.dumps(
        {"device_id": "d1", "location": [
            {"timestamp": "2025-01-01T00:00:00Z", "coords": {"latitude": 1, "longitude": 2}},
            {"timestamp": "2025-01-01T00:01:00Z", "coords": {"latitude": 1.001, "longitude": 2}},
        ]}
    ).encode()  # fmt: skip
    assert len(parse_osmand_json(body, NOW)) == 2


@pytest.mark.parametrize(
    "query",
    [
        "id=1&lat=91&lon=0",
        "id=1&lat=0&lon=181",
        "id=1&lat=nan&lon=0",
        "id=1&lat=abc&lon=0",
        "id=1&lat=1&lon=2&timestamp=yesterday",
        "id=1&lat=1&lon=2&timestamp=99999999999999999999",
        "id=1&location=1",
        "id=a%20b&lat=1&lon=2",
    ],
)
def test_bad_queries_raise_position_error(query: str) -> None:
    with pytest.raises(PositionError):
        parse_osmand_query(query, NOW)


@settings(max_examples=150, deadline=None)
@given(query=st.text(max_size=200))
def test_arbitrary_query_strings_only_raise_position_error(query: str) -> None:
    with contextlib.suppress(PositionError):
        parse_osmand_query(query, NOW)


@settings(max_examples=150, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "deviceid",
                "lat",
                "lon",
                "location",
                "timestamp",
                "speed",
                "bearing",
                "heading",
                "altitude",
                "accuracy",
                "batt",
            ]
        ),
        st.one_of(st.text(max_size=15), st.floats().map(str), st.integers().map(str)),
        max_size=12,
    )
)
def test_arbitrary_parameter_values_only_raise_position_error(params: dict[str, str]) -> None:
    from urllib.parse import urlencode

    with contextlib.suppress(PositionError):
        parse_osmand_query(urlencode(params), NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "device_id",
                    "location",
                    "coords",
                    "latitude",
                    "longitude",
                    "timestamp",
                    "speed",
                    "heading",
                    "battery",
                    "level",
                    "accuracy",
                ]
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(document=json_values)
def test_arbitrary_json_bodies_only_raise_position_error(document: object) -> None:
    with contextlib.suppress(PositionError):
        parse_osmand_json(json.dumps(document).encode(), NOW)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_position_error(body: bytes) -> None:
    for content_type in ("application/json", None):
        with contextlib.suppress(PositionError):
            parse_osmand_request("/", body, content_type, NOW)
