"""Helpers for the routes API: a depot, couriers and parcels out for delivery in São Paulo."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.devices.conftest import register
from tests.factories import order_body

DEPOT = (-23.5668, -46.6917)  # Pinheiros


def depot(client: TestClient, tenant: Tenant, name: str = "Hub Pinheiros") -> int:
    response = client.post(
        "/api/v1/routes/depots",
        json={"name": name, "lat": DEPOT[0], "lon": DEPOT[1]},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def parcel(
    client: TestClient,
    tenant: Tenant,
    where: tuple[float, float] | None,
    status: str = "out_for_delivery",
) -> dict[str, Any]:
    """An order with one shipment in ``status``; ``where`` None means no coordinates."""
    destination: dict[str, Any] = {
        "line1": "Rua Teodoro Sampaio, 100",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "05405-000",
        "country": "BR",
    }
    if where is not None:
        destination |= {"lat": where[0], "lon": where[1]}
    order: dict[str, Any] = client.post(
        "/api/v1/orders", json=order_body(destination=destination), headers=tenant.headers
    ).json()
    number = f"PN{uuid.uuid4().int % 10**9:09d}BR"
    shipment = client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": number},
        headers=tenant.headers,
    ).json()
    sent = client.post(
        "/api/v1/events",
        json=[
            {
                "event_id": f"{status}-{number}",
                "source": "carrier",
                "carrier": "correios",
                "tracking_number": number,
                "status": status,
                "occurred_at": "2026-11-23T08:00:00-03:00",
            }
        ],
        headers=tenant.headers,
    )
    assert sent.status_code < 300, sent.text
    order["shipment_id"] = shipment["id"]
    order["tracking_number"] = number
    return order


def couriers(
    client: TestClient, tenant: Tenant, count: int, capacity: int = 50
) -> list[dict[str, Any]]:
    return [
        {
            "device_id": register(client, tenant),
            "starts_at": "2026-11-23T09:00:00-03:00",
            "ends_at": "2026-11-23T18:00:00-03:00",
            "capacity": capacity,
        }
        for _ in range(count)
    ]
