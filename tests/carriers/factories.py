"""Small builders for the carrier API tests: a connection, an order with a parcel."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.factories import order_body


def connect(client: TestClient, tenant: Tenant, carrier: str, **body: Any) -> dict[str, Any]:
    response = client.put(f"/api/v1/carriers/{carrier}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def webhook_path(connection: dict[str, Any]) -> str:
    """The path of the webhook URL (the test client talks to the app directly)."""
    url: str = connection["webhook_url"]
    return url.removeprefix("http://rumbo.test")


def order_with_parcel(
    client: TestClient, tenant: Tenant, carrier: str, tracking_number: str
) -> dict[str, Any]:
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers)
    assert order.status_code == 201, order.text
    parcel = client.post(
        f"/api/v1/orders/{order.json()['id']}/shipments",
        json={"carrier": carrier, "tracking_number": tracking_number},
        headers=tenant.headers,
    )
    assert parcel.status_code == 201, parcel.text
    return order.json()  # type: ignore[no-any-return]


def order_status(client: TestClient, tenant: Tenant, order_id: int) -> str:
    response = client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status
