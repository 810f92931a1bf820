"""Analytics on a small history with known answers: the known bottleneck comes out first."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.eta.history import OrderHistory
from rumbo.eta.store import import_histories
from rumbo.events.status import Status
from tests.conftest import NOW, Tenant

START = datetime(2026, 1, 5, 10, 0)  # a Monday, São Paulo wall clock


def history() -> list[OrderHistory]:
    """120 orders from SP: sellers A, B, C hand over in 1 day, SLOW in 6; lane SP>BA takes
    5 days in transit against 2 elsewhere; every order is promised 10 days out."""
    orders = []
    sellers = ["A", "B", "C", "SLOW"]
    for n in range(120):
        seller = sellers[n % 4]
        destination = "BA" if n % 3 == 0 else "RJ"
        placed = START + timedelta(hours=5 * n)
        paid = placed + timedelta(hours=2)
        shipped = paid + timedelta(days=6 if seller == "SLOW" else 1)
        delivered = shipped + timedelta(days=5 if destination == "BA" else 2)
        orders.append(
            OrderHistory(
                order_id=f"H{n:03d}",
                purchased_at=placed,
                approved_at=paid,
                shipped_at=shipped,
                delivered_at=delivered,
                promised_at=datetime.combine(
                    (placed + timedelta(days=8)).date(), datetime.min.time()
                ),
                status=Status.DELIVERED,
                source_status="delivered",
                seller_ids=(seller,),
                seller_state="SP",
                customer_state=destination,
                item_count=1,
            )
        )
    return orders


def load(db: Database, tenant: Tenant) -> None:
    summary = import_histories(db, tenant.merchant_id, history(), NOW)
    assert summary.events_rejected == 0


def get(client: TestClient, tenant: Tenant, path: str, **params: object) -> object:
    response = client.get(
        path, params={"from": "2026-01-01", "to": "2026-03-01", **params}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_known_bottleneck_comes_out_first(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load(db, tenant)
    ranked = get(client, tenant, "/api/v1/analytics/bottlenecks")
    assert isinstance(ranked, list)
    top = ranked[0]
    assert (top["stage"], top["group_by"], top["group"]) == ("handling", "seller", "SLOW")
    assert top["orders"] == 30
    assert top["excess_days"] == 5.0
    assert top["cost_days"] == 150.0
    second = ranked[1]
    assert (second["stage"], second["group"], second["excess_days"]) == (
        "transit",
        "SP>BA",
        3.0,
    ) or (second["stage"], second["group"]) == ("transit", "BA")
    assert all(b["group"] not in ("A", "B", "C", "SP>RJ") for b in ranked)


def test_overview_gives_stage_percentiles_and_on_time_rate_per_group(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    load(db, tenant)
    body = get(client, tenant, "/api/v1/analytics/overview", group_by="seller")
    assert isinstance(body, dict)
    total = body["total"]
    assert (total["orders"], total["delivered"]) == (120, 120)
    assert total["stages"]["approval"]["p50_days"] == round(2 / 24, 2)
    slow = next(g for g in body["groups"] if g["group"] == "SLOW")
    fast = next(g for g in body["groups"] if g["group"] == "A")
    assert slow["stages"]["handling"]["p50_days"] == 6.0
    assert fast["stages"]["handling"]["p50_days"] == 1.0

    # On time = delivered by the promised calendar day on the São Paulo clock.
    def rate(seller: str) -> float:
        mine = [h for h in history() if h.seller_ids == (seller,)]
        on_time = [
            h
            for h in mine
            if h.delivered_at and h.promised_at and h.delivered_at.date() <= h.promised_at.date()
        ]
        return round(len(on_time) / len(mine), 4)

    assert slow["on_time_rate"] == rate("SLOW") < 1.0
    assert fast["on_time_rate"] == rate("A") == 1.0


def test_weekly_on_time_and_range_checks(
    client: TestClient, db: Database, tenant: Tenant, app: FastAPI
) -> None:
    load(db, tenant)
    body = get(client, tenant, "/api/v1/analytics/on-time")
    assert isinstance(body, dict)
    weeks = body["total"]
    assert weeks[0]["week"] == "2026-01-05"
    assert sum(w["delivered"] for w in weeks) == 120
    bad = client.get(
        "/api/v1/analytics/overview",
        params={"from": "2026-03-01", "to": "2026-01-01"},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert client.get("/api/v1/analytics/overview").status_code == 401
