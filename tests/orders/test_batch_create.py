"""Creating orders in a list: per-item outcomes, the same orders as one by one."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.models import Event, Order
from tests.conftest import Tenant, statements_sent
from tests.factories import order_body

_prefix = itertools.count()


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_list_gets_one_outcome_per_order_and_bad_ones_sink_nothing(
    client: TestClient, tenant: Tenant, app: FastAPI
) -> None:
    taken = client.post(
        "/api/v1/orders", json=order_body(external_id="TAKEN-1"), headers=tenant.headers
    ).json()
    first = order_body()
    bodies = [
        first,
        order_body(),
        {"external_id": "NO-CUSTOMER"},  # invalid
        order_body(external_id="TAKEN-1"),  # exists with another body
        dict(first),  # the same order twice in one list
        {**first, "items": []},  # the same external id, another body
        order_body(placed_at="2026-12-24T10:00:00-03:00"),  # in the future
    ]
    response = client.post("/api/v1/orders", json=bodies, headers=tenant.headers)
    assert response.status_code == 200
    data = response.json()
    outcomes = [(r["index"], r["outcome"], (r["error"] or {}).get("code")) for r in data["results"]]
    assert outcomes == [
        (0, "created", None),
        (1, "created", None),
        (2, "rejected", "validation_error"),
        (3, "rejected", "order_exists"),
        (4, "existing", None),
        (5, "rejected", "order_exists"),
        (6, "rejected", "occurred_in_future"),
    ]
    assert (data["created"], data["existing"], data["rejected"]) == (2, 1, 4)
    created = data["results"][0]["order"]
    assert data["results"][4]["order"]["id"] == created["id"]
    assert data["results"][3]["error"]["details"] == {"order_id": taken["id"]}
    assert created["status"] == "pending"
    assert created["tracking_url"].endswith(created["tracking_code"])
    page = client.get(f"/api/v1/track/{created['tracking_code']}")
    assert page.status_code == 200
    db: Database = app.state.db
    assert _count(db, Order) == 3
    assert _count(db, Event) == 3  # one "placed" event each

    again = client.post("/api/v1/orders", json=bodies[:2], headers=tenant.headers).json()
    assert [r["outcome"] for r in again["results"]] == ["existing", "existing"]
    assert _count(db, Order) == 3


def test_a_list_with_nothing_valid_is_refused_whole(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/api/v1/orders", json=[{"external_id": "X"}, {"nope": 1}], headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "all_rejected"
    assert client.get("/api/v1/orders", headers=tenant.headers).json()["items"] == []


def test_empty_oversized_and_odd_lists_are_clear_4xx(client: TestClient, tenant: Tenant) -> None:
    empty = client.post("/api/v1/orders", json=[], headers=tenant.headers)
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "empty_batch")
    huge = client.post("/api/v1/orders", json=[{}] * 1001, headers=tenant.headers)
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "batch_too_large")
    odd = client.post("/api/v1/orders", json="PED-1", headers=tenant.headers)
    assert (odd.status_code, odd.json()["error"]["code"]) == (422, "validation_error")
    single = client.post("/api/v1/orders", json={"external_id": "X"}, headers=tenant.headers)
    assert single.status_code == 422
    assert any(d["loc"][:2] == ["body", "customer"] for d in single.json()["error"]["details"])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_list_costs_a_fixed_number_of_statements(
    client: TestClient, tenant: Tenant, app: FastAPI
) -> None:
    """Each statement is a round trip to PostgreSQL. (SQLite runs in-process: there the
    ORM inserts the new orders one statement each, which costs no network.)"""
    db: Database = app.state.db
    client.post("/api/v1/orders", json=[order_body()], headers=tenant.headers)  # key cached
    counts = []
    for size in (10, 100):
        with statements_sent(db) as sent:
            response = client.post(
                "/api/v1/orders", json=[order_body() for _ in range(size)], headers=tenant.headers
            )
        assert response.json()["created"] == size
        counts.append(len(sent))
    assert counts[0] == counts[1]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 1), st.booleans()), min_size=1, max_size=12
    )
)
def test_a_list_creates_what_the_same_orders_one_by_one_would(
    client: TestClient, tenant: Tenant, picks: list[tuple[int, int, bool]]
) -> None:
    """Any mix of repeated external ids, changed bodies and invalid items."""

    def bodies(prefix: str) -> list[dict[str, Any]]:
        made = []
        for external, variant, valid in picks:
            # The same (external id, variant) is the same body; another variant differs.
            body = order_body(external_id=f"{prefix}-{external}")
            body["customer"]["email"] = f"shopper{external}@example.com"
            if variant:
                body["items"] = []
            if not valid:
                body.pop("customer")
            made.append(body)
        return made

    batch_prefix, single_prefix = f"B{next(_prefix)}", f"S{next(_prefix)}"
    listed = client.post("/api/v1/orders", json=bodies(batch_prefix), headers=tenant.headers)
    one_by_one = []
    for body in bodies(single_prefix):
        response = client.post("/api/v1/orders", json=body, headers=tenant.headers)
        kind = {201: "created", 200: "existing"}.get(response.status_code, "rejected")
        one_by_one.append(kind)
    if listed.status_code == 422:
        assert set(one_by_one) == {"rejected"}
        return
    assert [r["outcome"] for r in listed.json()["results"]] == one_by_one
    mine = client.get("/api/v1/orders?limit=100", headers=tenant.headers).json()["items"]
    created = {
        o["external_id"].split("-", 1)[1]
        for o in mine
        if o["external_id"].startswith(f"{batch_prefix}-")
    }
    alone = {
        o["external_id"].split("-", 1)[1]
        for o in mine
        if o["external_id"].startswith(f"{single_prefix}-")
    }
    assert created == alone
