"""The /osmand endpoint answers Traccar Client exactly as Traccar does, and no request
(dated in the future, re-uploaded after going offline, a GPS jump) corrupts a track."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.models import Device, DevicePosition
from tests.conftest import NOW, Tenant
from tests.devices.conftest import register

QUERY_DEVICES = ["123456", "902064", "353861053849681", "861001000719969", "123456789012345"]
JSON_DEVICES = ["48241179", "658765", "8737767034"]


@pytest.fixture
def queries(shared_data: Path) -> list[str]:
    text = (shared_data / "traccar" / "osmand_query_samples.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.fixture
def bodies(shared_data: Path) -> list[bytes]:
    text = (shared_data / "traccar" / "osmand_json_body_samples.jsonl").read_text("utf-8")
    return [line.encode() for line in text.splitlines() if line.strip()]


def post_json(client: TestClient, body: bytes) -> Any:
    return client.post("/osmand", content=body, headers={"Content-Type": "application/json"})


def track(db: Database, device_id: str) -> list[DevicePosition]:
    with db.session(write=False) as session:
        return list(
            session.scalars(
                select(DevicePosition)
                .join(Device, Device.id == DevicePosition.device_pk)
                .where(Device.device_id == device_id)
                .order_by(DevicePosition.id)
            )
        )


def device(db: Database, device_id: str) -> Device:
    with db.session(write=False) as session:
        found = session.scalar(select(Device).where(Device.device_id == device_id))
    assert found is not None
    return found


def test_unknown_devices_are_refused_as_traccar_does(
    client: TestClient, queries: list[str], bodies: list[bytes]
) -> None:
    for target in queries:
        response = client.get(target.replace("/?", "/osmand?", 1))
        assert response.status_code == 400, target
    for body in bodies:
        assert post_json(client, body).status_code == 404  # Traccar's JSON branch: 404


def test_every_sample_request_is_stored_with_its_raw_fields(
    client: TestClient, tenant: Tenant, db: Database, queries: list[str], bodies: list[bytes]
) -> None:
    for device_id in QUERY_DEVICES + JSON_DEVICES:
        register(client, tenant, device_id)
    statuses = [client.get(target.replace("/?", "/osmand?", 1)) for target in queries]
    assert [r.status_code for r in statuses] == [400, 400] + [200] * 9
    assert all(r.content == b"" for r in statuses[2:])  # Traccar: 200, empty body
    for body in bodies:
        response = post_json(client, body)
        assert (response.status_code, response.content) == (200, b"")

    ny = track(db, "123456789012345")
    assert len(ny) == 1
    assert (ny[0].lat, ny[0].lon) == (40.7232948571, -74.0061408571)
    assert ny[0].speed_kmh == pytest.approx(40 * 1.852)  # knots, Traccar's default unit
    assert json.loads(ny[0].raw)["rpm"] == "933"  # kept for support
    assert json.loads(track(db, "902064")[0].raw)["hdop"] == "6.0"
    assert json.loads(track(db, "8737767034")[0].raw)["uuid"] == (
        "0e9a2473-a9a7-4c00-997b-fb97d2154e75"
    )
    battery = device(db, "861001000719969")
    assert (battery.battery, battery.recorded_at) == (87, NOW)  # no timestamp: now

    # 902064 re-sent an older fix (ms timestamp, 2015) after a newer one (2016):
    # kept in the track, flagged, and the latest stays the 2016 fix.
    flags = [(p.recorded_at.year, p.flag) for p in track(db, "902064")]
    assert flags == [(2016, None), (2015, "out_of_order")]
    assert device(db, "902064").recorded_at == datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)
    # The same JSON fix twice: the second is a repeat, never the latest twice.
    assert [p.flag for p in track(db, "48241179")] == [None, "out_of_order"]


def test_form_body_is_read_when_the_query_is_empty(
    client: TestClient, tenant: Tenant, db: Database, queries: list[str]
) -> None:
    register(client, tenant, "902064")
    form = queries[2].split("?", 1)[1]
    response = client.post(
        "/osmand", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (response.status_code, response.content) == (200, b"")
    assert [(p.lat, p.lon) for p in track(db, "902064")] == [(42.06288, -88.23412)]


def _variant(sample: str, **changes: str) -> str:
    """``sample`` (a request from the Traccar samples) with some parameters changed."""
    params = dict(parse_qsl(sample.split("?", 1)[1]))
    return "/osmand?" + urlencode(params | changes)


def test_future_offline_and_jumping_fixes_never_corrupt_the_latest_position(
    client: TestClient, tenant: Tenant, db: Database, queries: list[str]
) -> None:
    sample = queries[10]  # 123456789012345, New York, 2017
    register(client, tenant, "123456789012345")
    assert client.get(_variant(sample)).status_code == 200
    start = datetime.fromtimestamp(1504763810, UTC)

    # Dated a day ahead (a phone with a wrong clock): acknowledged, so Traccar Client
    # does not retry it forever, but neither stored nor the latest.
    future = int((NOW + timedelta(days=1)).timestamp())
    assert client.get(_variant(sample, timestamp=str(future))).status_code == 200
    # A jump to São Paulo one minute later: kept in the track, flagged, not the latest.
    jump = int((start + timedelta(minutes=1)).timestamp())
    assert (
        client.get(_variant(sample, timestamp=str(jump), lat="-23.5", lon="-46.6")).status_code
        == 200
    )
    # Back online: the fixes taken while offline arrive late and out of order.
    for minutes in (5, 3, 4):
        moment = int((start + timedelta(minutes=minutes)).timestamp())
        lat = str(40.7232948571 + minutes * 0.001)
        assert client.get(_variant(sample, timestamp=str(moment), lat=lat)).status_code == 200

    stored = [(p.recorded_at - start, p.flag) for p in track(db, "123456789012345")]
    assert stored == [
        (timedelta(0), None),
        (timedelta(minutes=1), "implausible_jump"),
        (timedelta(minutes=5), None),
        (timedelta(minutes=3), "out_of_order"),
        (timedelta(minutes=4), "out_of_order"),
    ]
    latest = device(db, "123456789012345")
    assert latest.recorded_at == start + timedelta(minutes=5)
    assert latest.lat == pytest.approx(40.7232948571 + 0.005)
    assert latest.last_seen_at == NOW


def test_bad_input_is_a_400(client: TestClient, tenant: Tenant) -> None:
    register(client, tenant, "123456")
    assert client.get("/osmand?id=123456&lat=91&lon=0").status_code == 400
    assert client.get("/osmand?id=123456&lat=x&lon=0").status_code == 400
    assert post_json(client, b"{not json").status_code == 400
    assert client.get("/osmand").status_code == 400
    body = client.get("/osmand?lat=1&lon=2").json()
    assert body["error"]["code"] == "invalid_position"


@pytest.mark.parametrize("stamp", ["0", "-1", "-1700000000", "1970-01-01T00:00:00Z", "1989-12-31"])
def test_a_fix_without_a_real_time_is_refused_and_not_stored(
    client: TestClient, tenant: Tenant, db: Database, stamp: str
) -> None:
    register(client, tenant, "courier-1970")
    query = urlencode({"id": "courier-1970", "lat": "-23.5", "lon": "-46.6", "timestamp": stamp})
    response = client.get(f"/osmand?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_position"
    assert "1990" in response.json()["error"]["message"]
    body = {
        "device_id": "courier-1970",
        "location": {
            "timestamp": "1970-01-01T00:00:00Z",
            "coords": {"latitude": 1, "longitude": 2},
        },
    }
    assert post_json(client, json.dumps(body).encode()).status_code == 400
    assert track(db, "courier-1970") == []


def test_the_plain_route_is_documented_with_traccars_parameters(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/osmand"]) == {"get", "post"}
    names = {p["name"] for p in paths["/osmand"]["get"]["parameters"]}
    assert {"id", "lat", "lon", "timestamp", "speed", "bearing", "batt"} <= names
    assert "example" in paths["/osmand"]["post"]["requestBody"]["content"]["application/json"]


def test_a_query_with_a_question_mark_in_a_value_is_read_whole(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    register(client, tenant, "123456")
    assert client.get("/osmand?id=123456&lat=10.5&lon=20.25&note=ok?yes").status_code == 200
    (stored,) = track(db, "123456")
    assert json.loads(stored.raw)["note"] == "ok?yes"


def test_scanning_device_ids_is_throttled_per_address(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    """The scan that found a real id among 200: now every unknown id gets the same
    answer, and the address is stopped long before the real one comes up."""
    register(client, tenant, "902064")
    budget = settings.limit_unknown_devices_per_client
    answers = [
        client.post(f"/osmand?id={900000 + n}&lat=-23.56&lon=-46.65&timestamp=1795000000")
        for n in range(200)
        if 900000 + n != 902064
    ]
    statuses = [a.status_code for a in answers]
    assert statuses[:budget] == [400] * budget
    assert {a.json()["error"]["code"] for a in answers[:budget]} == {"unknown_device"}
    assert len({a.text for a in answers[:budget]}) == 1  # nothing tells one id from another
    assert set(statuses[budget:]) == {429}
    assert int(answers[-1].headers["Retry-After"]) > 0
    real = client.post("/osmand?id=902064&lat=-23.56&lon=-46.65&timestamp=1795000000")
    assert real.status_code == 429  # the address is stopped, the real id learns nothing


def test_a_known_device_does_not_spend_the_unknown_id_budget(
    client: TestClient, tenant: Tenant, settings: Settings
) -> None:
    register(client, tenant, "902064")
    for n in range(settings.limit_unknown_devices_per_client + 5):
        fix = f"/osmand?id=902064&lat=-23.56&lon=-46.65&timestamp={1795000000 + n}"
        assert client.post(fix).status_code == 200
