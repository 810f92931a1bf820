"""Fixtures for courier devices: the real MQTT broker, registered devices, routes.

The broker comes from ``RUMBO_TEST_MQTT_URL`` (e.g. mqtt://127.0.0.1:1883); without it
the MQTT tests skip with a reason, except under ``CI=true`` where a missing or
unreachable broker fails (as ``RUMBO_TEST_POSTGRES_URL`` in tests/conftest.py).
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import IN_CI, Tenant
from tests.factories import order_body

# Av. Paulista, 1000 (São Paulo): the destination of every order built here.
DESTINATION = (-23.5649, -46.6521)


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    url = os.environ.get("RUMBO_TEST_MQTT_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but RUMBO_TEST_MQTT_URL is not set")
        pytest.skip("MQTT tests need RUMBO_TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883)")
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), 2).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but the MQTT broker at {url} is unreachable: {exc}")
        pytest.skip(f"the MQTT broker at {url} is unreachable: {exc}")
    return url


def unique_device_id() -> str:
    return f"dev-{uuid.uuid4().hex[:12]}"


def register(client: TestClient, tenant: Tenant, device_id: str | None = None) -> str:
    device_id = device_id or unique_device_id()
    response = client.post(
        "/api/v1/devices", json={"device_id": device_id, "name": "Moto 7"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return device_id


def order_out_for_delivery(
    client: TestClient, tenant: Tenant, *, with_coordinates: bool = True
) -> dict[str, Any]:
    """An order with one Correios shipment that is out for delivery; the shipment's id
    is returned as ``shipment_id``."""
    destination: dict[str, object] = {
        "line1": "Av. Paulista, 1000",
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01310-100",
        "country": "BR",
    }
    if with_coordinates:
        destination |= {"lat": DESTINATION[0], "lon": DESTINATION[1]}
    order: dict[str, Any] = client.post(
        "/api/v1/orders", json=order_body(destination=destination), headers=tenant.headers
    ).json()
    number = f"PN{uuid.uuid4().int % 10**9:09d}BR"
    shipment = client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": number},
        headers=tenant.headers,
    ).json()
    response = client.post(
        "/api/v1/events",
        json=[
            {
                "event_id": f"ofd-{number}",
                "source": "carrier",
                "carrier": "correios",
                "tracking_number": number,
                "status": "out_for_delivery",
                "occurred_at": "2026-11-23T08:00:00-03:00",
            }
        ],
        headers=tenant.headers,
    )
    assert response.status_code < 300, response.text
    order["shipment_id"] = shipment["id"]
    return order
