"""Live streams are capped per client address and per process, with 429 + Retry-After."""

from __future__ import annotations

import time
from contextlib import ExitStack

import httpx
import pytest

from rumbo.kit.ratelimit import StreamSlots
from tests.conftest import Tenant
from tests.web.conftest import LiveServer, place_order


def open_streams(server: LiveServer, code: str, count: int, stack: ExitStack) -> list[int]:
    statuses = []
    for _ in range(count):
        http = stack.enter_context(httpx.Client(base_url=server.url, timeout=10))
        response = stack.enter_context(http.stream("GET", f"/t/{code}/events"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) > 0
            response.read()
            assert response.json()["error"]["code"] == "rate_limited"
    return statuses


@pytest.fixture
def small_caps(server: LiveServer) -> LiveServer:
    server.app.state.stream_slots = StreamSlots(per_client=3, total=5)
    return server


def test_streams_per_client_are_capped_and_freed_on_close(
    small_caps: LiveServer, tenant: Tenant
) -> None:
    with httpx.Client(base_url=small_caps.url, timeout=10) as http:
        code = place_order(http, tenant)["tracking_code"]
    with ExitStack() as stack:
        assert open_streams(small_caps, code, 5, stack) == [200, 200, 200, 429, 429]
    slots: StreamSlots = small_caps.app.state.stream_slots
    for _ in range(100):  # the server notices the closed connections
        if slots.open_for("127.0.0.1") == 0:
            break
        time.sleep(0.05)
    assert slots.open_for("127.0.0.1") == 0
    with ExitStack() as stack:
        assert open_streams(small_caps, code, 1, stack) == [200]


def test_streams_per_process_are_capped() -> None:
    slots = StreamSlots(per_client=10, total=3)
    assert [slots.acquire(f"10.0.0.{n}") for n in range(4)] == [
        None,
        None,
        None,
        "streams_per_process",
    ]
    slots.release("10.0.0.1")
    assert slots.acquire("10.0.0.9") is None
