"""A real HTTP server for the live-update and browser tests, and an order to track."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.factories import event_body, order_body


@dataclass
class LiveServer:
    url: str
    app: FastAPI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(app: FastAPI) -> Iterator[LiveServer]:
    """``app`` served by uvicorn on a free port, in a thread, for the test."""
    app.state.live_heartbeat = 0.5
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", app)
    uv.should_exit = True
    thread.join(10)


def place_order(
    http: TestClient | httpx.Client, tenant: Tenant, **overrides: Any
) -> dict[str, Any]:
    """An order with one Correios parcel, paid and in transit."""
    order: dict[str, Any] = http.post(
        "/api/v1/orders", json=order_body(**overrides), headers=tenant.headers
    ).json()
    http.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": "PN987654321BR", "service": "SEDEX"},
        headers=tenant.headers,
    )
    response = http.post(
        "/api/v1/events",
        json=[
            event_body(
                order,
                source="payment",
                status="payment_confirmed",
                occurred_at="2026-11-20T10:30:00-03:00",
                location=None,
                description=None,
            ),
            event_body(
                None,
                carrier="correios",
                tracking_number="PN987654321BR",
                status="in_transit",
                occurred_at="2026-11-21T09:00:00-03:00",
            ),
        ],
        headers=tenant.headers,
    )
    assert response.status_code < 300, response.text
    return order
