"""A history whose only slow part is one lane's transit: the ranking, the heat map, the
weekly on-time rate and the stage histograms must all show exactly that."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.eta.history import OrderHistory
from rumbo.eta.store import import_histories
from rumbo.events.status import Status
from tests.conftest import NOW, Tenant

START = datetime(2026, 1, 5, 10, 0)  # a Monday, São Paulo wall clock


def slow_lane_history() -> list[OrderHistory]:
    """120 orders; every sixth ships from SP, the rest from MG; even ones go to BA, odd to
    RJ. Payment takes 2 h and handling 1 day everywhere; transit takes 2 days except on
    SP>BA (20 orders), where it takes 8. The promise is 5 days: SP>BA is always late."""
    orders = []
    for n in range(120):
        origin = "SP" if n % 6 == 0 else "MG"
        destination = "BA" if n % 2 == 0 else "RJ"
        placed = START + timedelta(hours=5 * n)
        paid = placed + timedelta(hours=2)
        shipped = paid + timedelta(days=1)
        transit = 8 if (origin, destination) == ("SP", "BA") else 2
        orders.append(
            OrderHistory(
                order_id=f"L{n:03d}",
                purchased_at=placed,
                approved_at=paid,
                shipped_at=shipped,
                delivered_at=shipped + timedelta(days=transit),
                promised_at=datetime.combine(
                    (placed + timedelta(days=5)).date(), datetime.min.time()
                ),
                status=Status.DELIVERED,
                source_status="delivered",
                seller_ids=("ABCD"[n % 4],),
                seller_state=origin,
                customer_state=destination,
                carrier="jadlog" if n % 2 else "loggi",
                item_count=1,
            )
        )
    return orders


def load(db: Database, tenant: Tenant) -> None:
    summary = import_histories(db, tenant.merchant_id, slow_lane_history(), NOW)
    assert summary.events_rejected == 0


def get(client: TestClient, tenant: Tenant, path: str, **params: object) -> Any:
    response = client.get(
        f"/api/v1/analytics/{path}",
        params={"from": "2026-01-01", "to": "2026-03-01", **params},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_slow_lane_transit_is_the_first_bottleneck(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load(db, tenant)
    top = get(client, tenant, "bottlenecks")[0]
    assert top == {
        "stage": "transit",
        "group_by": "lane",
        "group": "SP>BA",
        "orders": 20,
        "median_days": 8.0,
        "normal_days": 2.0,
        "excess_days": 6.0,
        "cost_days": 120.0,
    }
    # Restricted to one grouping, the ranking only holds that grouping.
    by_seller = get(client, tenant, "bottlenecks", group_by="seller")
    assert by_seller == []  # every seller has the same median
    by_lane = get(client, tenant, "bottlenecks", group_by="lane")
    assert [b["group"] for b in by_lane] == ["SP>BA"]


def test_lane_heat_map_has_known_cells(client: TestClient, db: Database, tenant: Tenant) -> None:
    load(db, tenant)
    body = get(client, tenant, "lanes")
    assert (body["origins"], body["destinations"]) == (["MG", "SP"], ["BA", "RJ"])
    cells = {(c["origin"], c["destination"]): c for c in body["cells"]}
    assert set(cells) == {("SP", "BA"), ("MG", "BA"), ("MG", "RJ")}
    assert cells["SP", "BA"] == {
        "origin": "SP",
        "destination": "BA",
        "orders": 20,
        "delivered": 20,
        "median_delivery_days": round(2 / 24 + 1 + 8, 2),
        "median_transit_days": 8.0,
        "on_time_rate": 0.0,
    }
    assert (cells["MG", "BA"]["orders"], cells["MG", "BA"]["on_time_rate"]) == (40, 1.0)
    assert cells["MG", "RJ"]["median_transit_days"] == 2.0
    # One carrier's lanes only: loggi carries the even orders, i.e. everything to BA.
    loggi = get(client, tenant, "lanes", group_by="carrier", group="loggi")
    assert {(c["origin"], c["destination"]) for c in loggi["cells"]} == {("SP", "BA"), ("MG", "BA")}
    nobody = get(client, tenant, "lanes", group_by="carrier", group="nobody")
    assert nobody["cells"] == []


def test_weekly_on_time_matches_the_history(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load(db, tenant)
    expected: dict[date, list[bool]] = defaultdict(list)
    for h in slow_lane_history():
        assert h.delivered_at is not None
        assert h.promised_at is not None
        day = h.purchased_at.date()
        expected[day - timedelta(days=day.weekday())].append(
            h.delivered_at.date() <= h.promised_at.date()
        )
    body = get(client, tenant, "on-time", group_by="carrier")
    assert body["total"] == [
        {
            "week": week.isoformat(),
            "delivered": len(flags),
            "on_time_rate": round(sum(flags) / len(flags), 4),
        }
        for week, flags in sorted(expected.items())
    ]
    series = {s["group"]: s["weeks"] for s in body["groups"]}
    assert all(w["on_time_rate"] == 1.0 for w in series["jadlog"])  # odd orders: RJ, on time
    assert sum(w["delivered"] for w in series["loggi"]) == 60


def test_stage_histograms_count_every_order_in_its_bin(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load(db, tenant)
    body = get(client, tenant, "stages", group_by="lane")
    transit = body["total"]["transit"]
    assert (transit["orders"], transit["p50_days"]) == (120, 2.0)
    edges, counts = transit["edges_days"], transit["counts"]
    assert len(edges) == len(counts)
    assert counts[edges.index(2.0)] == 100  # [2.0, next edge)
    assert (edges[-1], counts[-1]) == (8.0, 20)  # the open bin: 8 days or more
    assert sum(counts) == 120
    assert body["total"]["last_mile"]["orders"] == 0  # no carrier reported out-for-delivery
    groups = {g["group"]: g["stages"]["transit"] for g in body["groups"]}
    assert groups["SP>BA"]["edges_days"] == edges  # binned like the total
    assert groups["SP>BA"]["counts"][-1] == 20


def test_bad_inputs_get_a_clear_4xx(client: TestClient, tenant: Tenant) -> None:
    def status(path: str, **params: str) -> tuple[int, str]:
        response = client.get(f"/api/v1/analytics/{path}", params=params, headers=tenant.headers)
        body = response.json()
        return response.status_code, body["error"]["code"]

    assert status("lanes", group="loggi") == (422, "validation_error")
    assert status("overview", group_by="planet")[0] == 422
    assert status("stages", **{"from": "2020-01-01", "to": "2026-01-01"}) == (
        422,
        "validation_error",
    )
    assert status("on-time", **{"from": "yesterday"})[0] == 422
    assert status("bottlenecks", limit="0")[0] == 422


def test_every_analytics_endpoint_is_documented_with_an_example(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = {
        path: schema["paths"][path]
        for path in (
            f"/api/v1/analytics/{name}"
            for name in ("overview", "bottlenecks", "on-time", "stages", "lanes")
        )
    }
    components = schema["components"]["schemas"]
    for path, item in paths.items():
        operation = item["get"]
        assert operation.get("summary"), path
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "group_by"} <= names, path
        content = operation["responses"]["200"]["content"]["application/json"]["schema"]
        ref = content.get("$ref") or content["items"]["$ref"]
        assert components[ref.rsplit("/", 1)[1]].get("examples"), path
