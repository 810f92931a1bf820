"""Unmapped carrier codes: shown with a suggestion, mapped with one call, applied everywhere."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.events.service import rederive
from rumbo.models import Order
from tests.carriers.factories import connect, order_status, order_with_parcel, webhook_path
from tests.conftest import NOW, Tenant


def relay(number: str, *events: dict[str, Any]) -> bytes:
    return json.dumps({"tracking_number": number, "events": list(events)}).encode()


def deliver(client: TestClient, path: str, body: bytes) -> dict[str, Any]:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


UNKNOWN = {
    "code": "ZZ77",
    "description": "Disponible para recoger en punto Pickup",
    "occurred_at": "2026-11-23T11:00:00+01:00",
}


def test_an_unknown_code_is_shown_then_mapped_with_one_call_and_moves_the_order(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = order_with_parcel(client, tenant, "seur", "ES-PICK-1")
    path = webhook_path(connect(client, tenant, "seur"))
    transit = {"code": "LC014", "occurred_at": "2026-11-23T09:00:00+01:00"}
    deliver(client, path, relay("ES-PICK-1", transit, UNKNOWN))
    before = order_status(client, tenant, order["id"])
    assert before != "available_for_pickup"  # informational: does not move the status

    listed = client.get("/api/v1/carriers/unmapped", headers=tenant.headers).json()
    assert len(listed) == 1
    entry = listed[0]
    assert {k: entry[k] for k in ("carrier", "code", "text", "count")} == {
        "carrier": "seur",
        "code": "ZZ77",
        "text": "Disponible para recoger en punto Pickup",
        "count": 1,
    }
    assert entry["first_seen"] == entry["last_seen"] == "2026-11-23T12:00:00Z"
    assert entry["suggestion"]["status"] == "available_for_pickup"
    assert 0 < entry["suggestion"]["confidence"] <= 1

    mapped = client.post(
        "/api/v1/carriers/seur/mappings",
        json={"code": "ZZ77", "status": "available_for_pickup"},
        headers=tenant.headers,
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["events_updated"] == 1
    assert order_status(client, tenant, order["id"]) == "available_for_pickup"
    assert client.get("/api/v1/carriers/unmapped", headers=tenant.headers).json() == []
    timeline = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers).json()
    assert timeline[-1]["code"] == "ZZ77"
    assert timeline[-1]["status"] == "available_for_pickup"

    # Stored incrementally and re-derived from scratch, the status is the same.
    with db.session() as session:
        rederive(session, [order["id"]], NOW)
        assert session.get(Order, order["id"]).status == "available_for_pickup"  # type: ignore[union-attr]


def test_a_mapped_code_gets_its_status_when_it_arrives(client: TestClient, tenant: Tenant) -> None:
    order = order_with_parcel(client, tenant, "seur", "ES-PICK-2")
    path = webhook_path(connect(client, tenant, "seur"))
    client.post(
        "/api/v1/carriers/seur/mappings",
        json={"code": "ZZ77", "status": "available_for_pickup"},
        headers=tenant.headers,
    )
    deliver(client, path, relay("ES-PICK-2", UNKNOWN))
    assert order_status(client, tenant, order["id"]) == "available_for_pickup"
    assert client.get("/api/v1/carriers/unmapped", headers=tenant.headers).json() == []


def test_a_mapping_belongs_to_one_merchant_and_one_carrier(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = order_with_parcel(client, tenant, "seur", "ES-PICK-3")
    theirs = order_with_parcel(client, other_tenant, "seur", "ES-PICK-3")
    deliver(client, webhook_path(connect(client, tenant, "seur")), relay("ES-PICK-3", UNKNOWN))
    deliver(
        client, webhook_path(connect(client, other_tenant, "seur")), relay("ES-PICK-3", UNKNOWN)
    )
    other_carrier = client.post(
        "/api/v1/carriers/ctt_express/mappings",
        json={"code": "ZZ77", "status": "delivered"},
        headers=tenant.headers,
    )
    assert other_carrier.json()["events_updated"] == 0
    client.post(
        "/api/v1/carriers/seur/mappings",
        json={"code": "ZZ77", "status": "available_for_pickup"},
        headers=tenant.headers,
    )
    assert order_status(client, tenant, mine["id"]) == "available_for_pickup"
    assert order_status(client, other_tenant, theirs["id"]) != "available_for_pickup"
    assert len(client.get("/api/v1/carriers/unmapped", headers=other_tenant.headers).json()) == 1


def test_remapping_a_code_moves_the_events_it_mapped(client: TestClient, tenant: Tenant) -> None:
    order = order_with_parcel(client, tenant, "seur", "ES-PICK-4")
    deliver(client, webhook_path(connect(client, tenant, "seur")), relay("ES-PICK-4", UNKNOWN))
    for status in ("delivered", "available_for_pickup"):
        response = client.post(
            "/api/v1/carriers/seur/mappings",
            json={"code": "ZZ77", "status": status},
            headers=tenant.headers,
        )
        assert response.json()["events_updated"] == 1
        assert order_status(client, tenant, order["id"]) == status


def test_mapping_an_unknown_carrier_or_status_is_refused(
    client: TestClient, tenant: Tenant
) -> None:
    nope = client.post(
        "/api/v1/carriers/nope/mappings",
        json={"code": "X", "status": "delivered"},
        headers=tenant.headers,
    )
    assert nope.status_code == 404
    assert nope.json()["error"]["code"] == "unknown_carrier"
    bad = client.post(
        "/api/v1/carriers/seur/mappings",
        json={"code": "X", "status": "teleported"},
        headers=tenant.headers,
    )
    assert bad.status_code == 422


def test_control_characters_in_a_code_or_secret_are_refused_not_a_500(
    client: TestClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers, "content-type": "application/json"}
    code = client.post(
        "/api/v1/carriers/seur/mappings",
        content=b'{"code": "ZZ\\u0000", "status": "delivered"}',
        headers=headers,
    )
    assert code.status_code == 422
    secret = client.put(
        "/api/v1/carriers/seur", content=b'{"signing_secret": "a\\u0000b"}', headers=headers
    )
    assert secret.status_code == 422
