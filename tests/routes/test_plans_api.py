"""Planning a depot's day over the store's API, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.routes.conftest import DEPOT, couriers, depot, parcel


def _spread(count: int, seed: int = 7) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [
        (DEPOT[0] + rng.uniform(-0.05, 0.05), DEPOT[1] + rng.uniform(-0.05, 0.05))
        for _ in range(count)
    ]


def _planned(plan: dict[str, Any]) -> list[int]:
    return sorted(stop["shipment_id"] for c in plan["couriers"] for stop in c["stops"])


def _plan(client: TestClient, tenant: Tenant, depot_id: int, shifts: list[dict[str, Any]]) -> Any:
    return client.post(
        "/api/v1/routes/plans",
        json={"depot_id": depot_id, "day": "2026-11-23", "shifts": shifts},
        headers=tenant.headers,
    )


def test_every_parcel_is_planned_or_listed_as_not_routable(
    client: TestClient, tenant: Tenant
) -> None:
    depot_id = depot(client, tenant)
    located = [parcel(client, tenant, where) for where in _spread(12)]
    unlocated = parcel(client, tenant, None)
    not_ours_yet = parcel(client, tenant, _spread(1, seed=3)[0], status="in_transit")
    response = _plan(client, tenant, depot_id, couriers(client, tenant, 2))
    assert response.status_code == 201, response.text
    plan = response.json()
    assert _planned(plan) == sorted(o["shipment_id"] for o in located)
    assert plan["not_routable"] == [
        {
            "shipment_id": unlocated["shipment_id"],
            "order_id": unlocated["id"],
            "reason": "no_coordinates",
        }
    ]
    assert not_ours_yet["shipment_id"] not in _planned(plan)
    for courier in plan["couriers"]:
        times = [stop["planned_at"] for stop in courier["stops"]]
        assert times == sorted(times)
        assert [s["sequence"] for s in courier["stops"]] == list(range(1, len(times) + 1))
        for stop in courier["stops"]:
            assert stop["window_start"] <= stop["planned_at"] <= stop["window_end"]
    assert client.get(f"/api/v1/routes/plans/{plan['id']}", headers=tenant.headers).json() == plan


def test_capacity_left_over_parcels_are_listed_never_dropped(
    client: TestClient, tenant: Tenant
) -> None:
    depot_id = depot(client, tenant)
    located = [parcel(client, tenant, where) for where in _spread(5)]
    plan = _plan(client, tenant, depot_id, couriers(client, tenant, 1, capacity=3)).json()
    left = [item["shipment_id"] for item in plan["not_routable"]]
    assert len(_planned(plan)) == 3
    assert sorted(_planned(plan) + left) == sorted(o["shipment_id"] for o in located)
    assert {item["reason"] for item in plan["not_routable"]} == {"no_courier_fits"}


def test_planning_the_same_day_again_returns_the_same_plan(
    client: TestClient, tenant: Tenant
) -> None:
    depot_id = depot(client, tenant)
    for where in _spread(4):
        parcel(client, tenant, where)
    shifts = couriers(client, tenant, 1)
    first = _plan(client, tenant, depot_id, shifts)
    parcel(client, tenant, _spread(1, seed=99)[0])  # arrives after planning
    again = _plan(client, tenant, depot_id, shifts)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_replan_keeps_delivered_and_locked_stops(client: TestClient, tenant: Tenant) -> None:
    depot_id = depot(client, tenant)
    orders = [parcel(client, tenant, where) for where in _spread(10)]
    plan = _plan(client, tenant, depot_id, couriers(client, tenant, 2)).json()
    first_courier = plan["couriers"][0]
    delivered = first_courier["stops"][0]
    locked = first_courier["stops"][-1]
    number = next(
        o["tracking_number"] for o in orders if o["shipment_id"] == delivered["shipment_id"]
    )
    client.post(
        "/api/v1/events",
        json=[
            {
                "event_id": f"delivered-{number}",
                "source": "carrier",
                "carrier": "correios",
                "tracking_number": number,
                "status": "delivered",
                "occurred_at": "2026-11-23T08:30:00-03:00",
            }
        ],
        headers=tenant.headers,
    )
    locking = client.patch(
        f"/api/v1/routes/plans/{plan['id']}/stops/{locked['shipment_id']}",
        json={"locked": True},
        headers=tenant.headers,
    )
    assert locking.status_code == 200, locking.text
    response = client.post(f"/api/v1/routes/plans/{plan['id']}/replan", headers=tenant.headers)
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["revision"] == 2
    assert _planned(again) == _planned(plan)
    stops = {s["shipment_id"]: (c["device_id"], s) for c in again["couriers"] for s in c["stops"]}
    device, kept = stops[delivered["shipment_id"]]
    assert device == first_courier["device_id"]
    assert kept["sequence"] == 1
    assert kept["delivered_at"] is not None
    device, still = stops[locked["shipment_id"]]
    assert device == first_courier["device_id"]
    assert still["locked"] is True


def test_bad_inputs_are_clear_errors(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    depot_id = depot(client, tenant)
    shifts = couriers(client, tenant, 1)
    theirs = _plan(client, other_tenant, depot_id, couriers(client, other_tenant, 1))
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "depot_not_found")
    unknown = [{**shifts[0], "device_id": "not-registered"}]
    response = _plan(client, tenant, depot_id, unknown)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_devices")
    backwards = [{**shifts[0], "ends_at": "2026-11-23T08:00:00-03:00"}]
    assert _plan(client, tenant, depot_id, backwards).status_code == 422
    twice = _plan(client, tenant, depot_id, shifts + shifts)
    assert twice.status_code == 422
    huge = client.get(f"/api/v1/routes/plans/{2**63}", headers=tenant.headers)
    assert huge.status_code == 422
    assert client.get("/api/v1/routes/plans/999", headers=tenant.headers).status_code == 404
    zone = client.post(
        "/api/v1/routes/depots",
        json={"name": "X", "lat": 0, "lon": 0, "timezone": "Mars/Olympus"},
        headers=tenant.headers,
    )
    assert (zone.status_code, zone.json()["error"]["code"]) == (422, "invalid_timezone")
    # nothing was written by the refused requests
    assert client.get("/api/v1/routes/depots", headers=tenant.headers).json()[0]["id"] == depot_id
    assert len(client.get("/api/v1/routes/depots", headers=tenant.headers).json()) == 1
