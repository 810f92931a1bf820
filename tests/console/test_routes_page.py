"""The console's route view: an SVG per courier with stops, planned path and track; the
stop list; lock, move and re-plan through forms."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import NOW, Tenant
from tests.console.conftest import Staff, signed_in
from tests.routes.conftest import DEPOT, couriers, depot, parcel


def _plan(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    depot_id = depot(client, tenant)
    for i in range(1, 5):
        parcel(client, tenant, (DEPOT[0] + 0.01 * i, DEPOT[1] - 0.006 * i))
    shifts = couriers(client, tenant, 1)
    shifts[0]["starts_at"] = "2026-11-23T08:00:00-03:00"  # on the road by the suite's 09:00
    response = client.post(
        "/api/v1/routes/plans",
        json={"depot_id": depot_id, "day": "2026-11-23", "shifts": shifts},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    device = shifts[0]["device_id"]
    for minutes, (lat, lon) in ((30, DEPOT), (10, (DEPOT[0] + 0.01, DEPOT[1] - 0.006))):
        at = int((NOW - timedelta(minutes=minutes)).timestamp())
        assert (
            client.get(f"/osmand?id={device}&lat={lat}&lon={lon}&timestamp={at}").status_code == 200
        )
    return plan


def test_route_view_draws_stops_path_and_track(
    client: TestClient, tenant: Tenant, agent: Staff
) -> None:
    plan = _plan(client, tenant)
    signed_in(client, agent)
    listing = client.get("/console/routes")
    assert f"/console/routes/{plan['id']}" in listing.text
    page = client.get(f"/console/routes/{plan['id']}?lang=en")
    assert page.status_code == 200
    svg = re.search(r"<svg class=\"route-map\".*?</svg>", page.text, re.S)
    assert svg is not None
    assert svg.group(0).count("<circle") == 4
    assert svg.group(0).count("<polyline") == 2  # planned path and actual track
    assert "tile" not in page.text.lower()
    for stop in plan["couriers"][0]["stops"]:
        assert f"/console/orders/{stop['order_id']}" in page.text
    assert "Re-plan the rest of the day" in page.text
    assert (
        "Replanejar o resto do dia" in client.get(f"/console/routes/{plan['id']}?lang=pt-BR").text
    )


def test_lock_move_and_replan_from_the_console(
    client: TestClient, tenant: Tenant, agent: Staff
) -> None:
    plan = _plan(client, tenant)
    csrf = signed_in(client, agent)
    stops = plan["couriers"][0]["stops"]
    second = stops[1]["shipment_id"]
    moved = client.post(
        f"/console/routes/{plan['id']}/stops/{second}/move",
        data={"csrf_token": csrf, "earlier": "true"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    after = client.get(f"/api/v1/routes/plans/{plan['id']}", headers=tenant.headers).json()
    order = [s["shipment_id"] for s in after["couriers"][0]["stops"]]
    assert order[:2] == [second, stops[0]["shipment_id"]]
    times = [s["planned_at"] for s in after["couriers"][0]["stops"]]
    assert times == sorted(times)
    locked = client.post(
        f"/console/routes/{plan['id']}/stops/{second}/lock",
        data={"csrf_token": csrf, "locked": "true"},
        follow_redirects=False,
    )
    assert locked.status_code == 303
    forged = client.post(f"/console/routes/{plan['id']}/replan", data={"csrf_token": "forged"})
    assert forged.status_code in (400, 403)
    replanned = client.post(
        f"/console/routes/{plan['id']}/replan", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert replanned.status_code == 303
    final = client.get(f"/api/v1/routes/plans/{plan['id']}", headers=tenant.headers).json()
    assert final["revision"] == 2
    assert any(s["locked"] and s["shipment_id"] == second for s in final["couriers"][0]["stops"])
    assert sorted(order) == sorted(s["shipment_id"] for s in final["couriers"][0]["stops"])


def test_another_merchants_plan_is_not_found(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, agent: Staff
) -> None:
    theirs = _plan(client, other_tenant)
    signed_in(client, agent)
    assert client.get(f"/console/routes/{theirs['id']}").status_code == 404
