"""Devices and routes over the store's API; arriving soon; the courier on the public
view only after the privacy gate; retention."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.devices.service import prune_positions
from rumbo.kit.clock import FixedClock
from rumbo.models import Device, DevicePosition
from tests.conftest import NOW, Tenant
from tests.devices.conftest import DESTINATION, order_out_for_delivery, register


def fix(client: TestClient, device_id: str, lat: float, lon: float, minutes_ago: float) -> int:
    at = int((NOW - timedelta(minutes=minutes_ago)).timestamp())
    url = f"/osmand?id={device_id}&lat={lat}&lon={lon}&timestamp={at}"
    status: int = client.get(url).status_code
    return status


def test_devices_are_registered_once_and_listed_per_merchant(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    device_id = register(client, tenant)
    again = client.post(
        "/api/v1/devices", json={"device_id": device_id, "name": "x"}, headers=other_tenant.headers
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "device_exists")
    assert fix(client, device_id, -23.6, -46.7, minutes_ago=2) == 200
    listed = client.get("/api/v1/devices", headers=tenant.headers).json()
    assert [d["device_id"] for d in listed] == [device_id]
    assert listed[0]["position"]["lat"] == -23.6  # full precision for the store
    assert listed[0]["last_seen_at"] == "2026-11-23T12:00:00Z"
    assert client.get("/api/v1/devices", headers=other_tenant.headers).json() == []
    assert client.get("/api/v1/devices").status_code == 401


def test_route_replaces_and_rejects_other_merchants_shipments(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    device_id = register(client, tenant)
    first, second = order_out_for_delivery(client, tenant), order_out_for_delivery(client, tenant)
    foreign = order_out_for_delivery(client, other_tenant)
    url = f"/api/v1/devices/{device_id}/route"
    route = client.put(
        url,
        json={"shipment_ids": [first["shipment_id"], second["shipment_id"]]},
        headers=tenant.headers,
    )
    assert route.status_code == 200
    assert [s["tracking_code"] for s in route.json()["stops"]] == [
        first["tracking_code"],
        second["tracking_code"],
    ]
    replaced = client.put(
        url, json={"shipment_ids": [second["shipment_id"]]}, headers=tenant.headers
    )
    assert [s["shipment_id"] for s in replaced.json()["stops"]] == [second["shipment_id"]]
    refused = client.put(
        url, json={"shipment_ids": [foreign["shipment_id"]]}, headers=tenant.headers
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["details"] == {"shipment_ids": [foreign["shipment_id"]]}
    assert (
        client.put(url, json={"shipment_ids": []}, headers=other_tenant.headers).status_code == 404
    )
    assert client.put(url, json={"shipment_ids": ["x"]}, headers=tenant.headers).status_code == 422

    # A parcel has one courier: putting it on another device moves it.
    other_device = register(client, tenant)
    client.put(
        f"/api/v1/devices/{other_device}/route",
        json={"shipment_ids": [second["shipment_id"]]},
        headers=tenant.headers,
    )
    assert client.get(url, headers=tenant.headers).json()["stops"] == []


def test_arriving_soon_is_recorded_once_when_the_courier_comes_near(
    client: TestClient, tenant: Tenant
) -> None:
    device_id = register(client, tenant)
    hook = client.post(
        "/api/v1/webhooks", json={"url": "https://store.example/hooks"}, headers=tenant.headers
    )
    assert hook.status_code == 201, hook.text
    near, unknown_place = (
        order_out_for_delivery(client, tenant),
        order_out_for_delivery(client, tenant, with_coordinates=False),
    )
    url = f"/api/v1/devices/{device_id}/route"
    ids = [near["shipment_id"], unknown_place["shipment_id"]]
    client.put(url, json={"shipment_ids": ids}, headers=tenant.headers)
    lat, lon = DESTINATION

    assert fix(client, device_id, lat + 0.05, lon, minutes_ago=20) == 200  # ~5.5 km away
    assert [
        s["arriving_soon_at"] for s in client.get(url, headers=tenant.headers).json()["stops"]
    ] == [None, None]
    assert fix(client, device_id, lat + 0.005, lon, minutes_ago=10) == 200  # ~550 m
    assert fix(client, device_id, lat + 0.001, lon, minutes_ago=5) == 200  # nearer still
    stops = client.get(url, headers=tenant.headers).json()["stops"]
    assert [s["arriving_soon_at"] for s in stops] == ["2026-11-23T11:50:00Z", None]
    # The store's app hears it once, through the notification outbox.
    sent = client.get(f"/api/v1/orders/{near['id']}/notifications", headers=tenant.headers).json()
    assert [m["kind"] for m in sent].count("arriving_soon") == 1


def test_courier_position_is_shown_rounded_and_only_after_verification(
    client: TestClient, tenant: Tenant
) -> None:
    device_id = register(client, tenant)
    order = order_out_for_delivery(client, tenant)
    client.put(
        f"/api/v1/devices/{device_id}/route",
        json={"shipment_ids": [order["shipment_id"]]},
        headers=tenant.headers,
    )
    assert fix(client, device_id, -23.56123456, -46.65987654, minutes_ago=1) == 200
    public = client.get(f"/api/v1/track/{order['tracking_code']}")
    assert public.json()["private"] is None
    assert "-23.56" not in public.text
    assert "-46.6" not in public.text
    token = client.post(
        f"/api/v1/track/{order['tracking_code']}/verify", json={"postal_code": "01310-100"}
    ).json()["token"]
    private = client.get(
        f"/api/v1/track/{order['tracking_code']}", headers={"X-Tracking-Token": token}
    ).json()["private"]
    assert private["courier"] == {
        "lat": -23.561,
        "lon": -46.66,
        "recorded_at": "2026-11-23T11:59:00Z",
    }


def test_no_courier_once_the_parcel_is_delivered(client: TestClient, tenant: Tenant) -> None:
    device_id = register(client, tenant)
    order = order_out_for_delivery(client, tenant)
    client.put(
        f"/api/v1/devices/{device_id}/route",
        json={"shipment_ids": [order["shipment_id"]]},
        headers=tenant.headers,
    )
    fix(client, device_id, -23.56, -46.65, minutes_ago=1)
    shipment = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()[
        "shipments"
    ][0]
    client.post(
        "/api/v1/events",
        json=[
            {
                "event_id": "delivered-1",
                "source": "carrier",
                "carrier": "correios",
                "tracking_number": shipment["tracking_number"],
                "status": "delivered",
                "occurred_at": "2026-11-23T11:59:30Z",
            }
        ],
        headers=tenant.headers,
    )
    token = client.post(
        f"/api/v1/track/{order['tracking_code']}/verify", json={"postal_code": "01310-100"}
    ).json()["token"]
    private = client.get(
        f"/api/v1/track/{order['tracking_code']}", headers={"X-Tracking-Token": token}
    ).json()["private"]
    assert private["courier"] is None


def test_prune_deletes_old_track_points_only(
    client: TestClient, tenant: Tenant, db: Database, clock: FixedClock
) -> None:
    device_id = register(client, tenant)
    for days in (40, 31, 29, 1):
        assert (
            fix(client, device_id, -23.5 + days * 0.0001, -46.6, minutes_ago=days * 24 * 60) == 200
        )
    with db.session() as session:
        assert prune_positions(session, NOW - timedelta(days=30)) == 2
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(DevicePosition)) == 2
    latest = client.get("/api/v1/devices", headers=tenant.headers).json()[0]["position"]
    assert latest["recorded_at"] == "2026-11-22T12:00:00Z"


def test_a_device_registered_without_an_id_gets_a_secret_shown_once(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    created = client.post("/api/v1/devices", json={"name": "Moto 7"}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    secret, handle = body["secret"], body["device_id"]
    assert len(secret) == 32  # 128 random bits, in hex
    assert int(secret, 16) >= 0
    assert secret.startswith(handle)
    assert len(handle) == 8  # 96 bits stay secret
    other = client.post("/api/v1/devices", json={"name": "Moto 8"}, headers=tenant.headers)
    assert other.json()["secret"] != secret
    assert fix(client, secret, -23.6, -46.7, minutes_ago=2) == 200
    assert fix(client, handle, -23.6, -46.7, minutes_ago=1) == 400  # the handle is no key
    listed = client.get("/api/v1/devices", headers=tenant.headers).json()
    assert all("secret" not in d for d in listed)
    assert secret not in json.dumps(listed)
    with db.session(write=False) as session:
        stored = session.scalar(select(Device).where(Device.device_id == handle))
    assert stored is not None
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(vars(stored))


def test_a_chosen_id_taken_anywhere_gets_one_answer_that_names_no_merchant(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    device_id = register(client, tenant)
    mine = client.post(
        "/api/v1/devices", json={"device_id": device_id, "name": "x"}, headers=tenant.headers
    )
    theirs = client.post(
        "/api/v1/devices", json={"device_id": device_id, "name": "x"}, headers=other_tenant.headers
    )
    assert mine.status_code == theirs.status_code == 409
    assert mine.json() == theirs.json()


def test_rotating_an_id_keeps_the_route_and_retires_the_old_id(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    old = register(client, tenant)
    stop = order_out_for_delivery(client, tenant)
    client.put(
        f"/api/v1/devices/{old}/route",
        json={"shipment_ids": [stop["shipment_id"]]},
        headers=tenant.headers,
    )
    assert (
        client.post(f"/api/v1/devices/{old}/rotate", headers=other_tenant.headers).status_code
        == 404
    )
    rotated = client.post(f"/api/v1/devices/{old}/rotate", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    new, handle = rotated.json()["secret"], rotated.json()["device_id"]
    assert new != old
    assert len(new) == 32
    assert fix(client, old, -23.6, -46.7, minutes_ago=2) == 400
    assert fix(client, new, -23.6, -46.7, minutes_ago=1) == 200
    assert client.get(f"/api/v1/devices/{old}/route", headers=tenant.headers).status_code == 404
    route = client.get(f"/api/v1/devices/{handle}/route", headers=tenant.headers).json()
    assert [s["shipment_id"] for s in route["stops"]] == [stop["shipment_id"]]
