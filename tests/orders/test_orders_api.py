"""Orders over the REST API: creation, idempotency, tenancy, search, shipments."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.factories import order_body


def create(client: TestClient, tenant: Tenant, **overrides: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/orders", json=order_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_order_returns_code_link_and_pending(client: TestClient, tenant: Tenant) -> None:
    order = create(client, tenant)
    assert order["status"] == "pending"
    assert len(order["tracking_code"]) == 13
    assert order["tracking_url"] == f"http://rumbo.test/t/{order['tracking_code']}"
    assert order["customer"]["email"].startswith("ana")
    assert order["status_detail"] == {
        "shipments_total": 0,
        "shipments_delivered": 0,
        "partially_delivered": False,
    }


def test_same_body_again_returns_the_same_order_with_200(
    client: TestClient, tenant: Tenant
) -> None:
    body = order_body()
    first = client.post("/api/v1/orders", json=body, headers=tenant.headers)
    again = client.post("/api/v1/orders", json=body, headers=tenant.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["tracking_code"] == first.json()["tracking_code"]


def test_different_body_for_the_same_external_id_is_a_conflict(
    client: TestClient, tenant: Tenant
) -> None:
    body = order_body()
    client.post("/api/v1/orders", json=body, headers=tenant.headers)
    changed = body | {"promised_delivery_date": "2027-01-10"}
    response = client.post("/api/v1/orders", json=changed, headers=tenant.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_exists"


def test_another_merchants_key_gets_404_not_the_data(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = create(client, tenant)
    for path in (f"/api/v1/orders/{order['id']}", f"/api/v1/orders/{order['id']}/events"):
        response = client.get(path, headers=other_tenant.headers)
        assert response.status_code == 404
        assert "Ana" not in response.text
    listing = client.get(
        "/api/v1/orders", params={"q": order["external_id"]}, headers=other_tenant.headers
    )
    assert listing.json()["items"] == []


def test_the_same_external_id_is_independent_per_merchant(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    body = order_body()
    a = client.post("/api/v1/orders", json=body, headers=tenant.headers).json()
    b = client.post("/api/v1/orders", json=body, headers=other_tenant.headers).json()
    assert a["id"] != b["id"]


def test_missing_or_wrong_key_is_401(client: TestClient) -> None:
    assert client.get("/api/v1/orders").status_code == 401
    response = client.get("/api/v1/orders", headers={"Authorization": "Bearer rk_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_list_filters_by_status_and_pages_with_a_cursor(client: TestClient, tenant: Tenant) -> None:
    orders = [create(client, tenant) for _ in range(5)]
    client.post(
        "/api/v1/events",
        json={
            "event_id": "pay-1",
            "source": "payment",
            "tracking_code": orders[0]["tracking_code"],
            "status": "payment_confirmed",
            "occurred_at": "2026-11-20T11:00:00-03:00",
        },
        headers=tenant.headers,
    )
    paid = client.get(
        "/api/v1/orders", params={"status": "payment_confirmed"}, headers=tenant.headers
    ).json()
    assert [o["id"] for o in paid["items"]] == [orders[0]["id"]]

    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/orders", params=params, headers=tenant.headers).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((o["id"] for o in orders), reverse=True)


def test_search_finds_by_external_id_email_code_and_carrier_number(
    client: TestClient, tenant: Tenant
) -> None:
    order = create(client, tenant)
    create(client, tenant)
    client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": "PN123456789BR"},
        headers=tenant.headers,
    )
    code = order["tracking_code"]
    for q in (
        order["external_id"],
        order["customer"]["email"].upper(),
        code.lower(),
        f"{code[:4]}-{code[4:]}",
        "PN123456789BR",
    ):
        found = client.get("/api/v1/orders", params={"q": q}, headers=tenant.headers).json()[
            "items"
        ]
        assert [o["id"] for o in found] == [order["id"]], q


def test_split_fulfilment_tracks_each_parcel(client: TestClient, tenant: Tenant) -> None:
    order = create(client, tenant)
    for number in ("PN000000001BR", "PN000000002BR"):
        response = client.post(
            f"/api/v1/orders/{order['id']}/shipments",
            json={"carrier": "Correios", "tracking_number": number, "service": "SEDEX"},
            headers=tenant.headers,
        )
        assert response.status_code == 201
        assert response.json()["carrier"] == "correios"
    again = client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": "PN000000001BR"},
        headers=tenant.headers,
    )
    assert again.status_code == 200
    events = [
        {
            "event_id": "d1",
            "source": "carrier",
            "carrier": "correios",
            "tracking_number": "PN000000001BR",
            "status": "delivered",
            "occurred_at": "2026-11-22T15:00:00-03:00",
        },
        {
            "event_id": "t2",
            "source": "carrier",
            "carrier": "correios",
            "tracking_number": "PN000000002BR",
            "status": "in_transit",
            "occurred_at": "2026-11-22T09:00:00-03:00",
        },
    ]
    assert (
        client.post("/api/v1/events", json=events, headers=tenant.headers).json()["accepted"] == 2
    )
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert got["status"] == "in_transit"
    assert got["status_detail"] == {
        "shipments_total": 2,
        "shipments_delivered": 1,
        "partially_delivered": True,
    }
    assert {s["tracking_number"]: s["status"] for s in got["shipments"]} == {
        "PN000000001BR": "delivered",
        "PN000000002BR": "in_transit",
    }
    last = {
        "event_id": "d2",
        "source": "carrier",
        "carrier": "correios",
        "tracking_number": "PN000000002BR",
        "status": "delivered",
        "occurred_at": "2026-11-23T08:00:00-03:00",
    }
    client.post("/api/v1/events", json=last, headers=tenant.headers)
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert got["status"] == "delivered"
    assert got["status_detail"]["partially_delivered"] is False


def test_an_order_placed_in_the_future_is_refused(client: TestClient, tenant: Tenant) -> None:
    body = order_body(placed_at="2030-01-01T10:00:00-03:00")
    response = client.post("/api/v1/orders", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "occurred_in_future"
    listed = client.get("/api/v1/orders", headers=tenant.headers).json()
    assert listed["items"] == []


def test_an_order_registered_after_its_first_events_still_moves_with_them(
    client: TestClient, tenant: Tenant
) -> None:
    # A late order sync: no placed_at, so "placed" is stamped now, after the payment.
    body = order_body()
    del body["placed_at"]
    order = client.post("/api/v1/orders", json=body, headers=tenant.headers).json()
    paid = {
        "event_id": "pay-late-sync",
        "source": "payment",
        "external_id": order["external_id"],
        "status": "payment_confirmed",
        "occurred_at": "2026-11-22T10:00:00-03:00",
    }
    assert client.post("/api/v1/events", json=paid, headers=tenant.headers).status_code == 201
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert got["status"] == "payment_confirmed"
