"""Abuse limits: 429 with Retry-After on every public door and per API key; body limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import event

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.kit.clock import FixedClock
from rumbo.kit.codes import ALPHABET, LENGTH, check_character, new_tracking_code
from rumbo.kit.ratelimit import SlidingWindow
from tests.conftest import Tenant, make_tenant
from tests.factories import order_body
from tests.ops.routes import every_route


@pytest.fixture
def limited(settings: Settings, clock: FixedClock) -> Iterator[tuple[TestClient, FastAPI]]:
    tight = settings.model_copy(
        update={
            "limit_lookups_per_client": 40,
            "limit_requests_per_key": 8,
            "limit_positions_per_device": 3,
        }
    )
    app = create_app(tight, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app


def _statements(app: FastAPI) -> list[str]:
    seen: list[str] = []

    def count(_: Any, __: Any, statement: str, *___: Any) -> None:
        seen.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", count)
    return seen


def test_guessing_codes_at_full_speed_finds_nothing_and_is_throttled(
    limited: tuple[TestClient, FastAPI],
) -> None:
    client, app = limited
    tenant = make_tenant(app.state.db, "Loja Aurora")
    real = {
        client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()[
            "tracking_code"
        ]
        for _ in range(5)
    }
    # Well-formed guesses: 60 random bits and the right check character each.
    guesses = [new_tracking_code() for _ in range(200)]
    answers = [client.get(f"/api/v1/track/{code}") for code in guesses]
    statuses = [a.status_code for a in answers]
    assert 200 not in statuses
    assert not real & set(guesses)
    assert statuses[:40] == [404] * 40  # the limit's worth of honest "no such order"
    assert set(statuses[40:]) == {429}  # then nothing more from this address
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # The tracking page shares the same budget: a guesser cannot switch doors.
    assert client.get(f"/t/{guesses[0]}").status_code == 429


def _with_wrong_check(payload: str) -> str:
    right = check_character(payload)
    return payload + next(c for c in ALPHABET if c != right)


@hypothesis_settings(max_examples=60, deadline=None)
@given(payload=st.text(alphabet=ALPHABET, min_size=LENGTH - 1, max_size=LENGTH - 1))
def test_a_wrongly_checked_code_is_refused_before_any_database_lookup(payload: str) -> None:
    app = _plain_app()
    seen = _statements(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        seen.clear()
        answer = client.get(f"/api/v1/track/{_with_wrong_check(payload)}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "tracking_code_check_mismatch"
    assert seen == []


_PLAIN: dict[str, FastAPI] = {}


def _plain_app() -> FastAPI:
    """One SQLite app for the Hypothesis examples (a fixture would be shared anyway)."""
    if "app" not in _PLAIN:
        import tempfile

        from rumbo.migrations import upgrade

        path = f"{tempfile.mkdtemp()}/rumbo.db"
        upgrade(f"sqlite:///{path}")
        settings = Settings(database_url=f"sqlite:///{path}", env="test", secret_key="t")
        _PLAIN["app"] = create_app(settings.model_copy(update={"limit_lookups_per_client": 10**6}))
    return _PLAIN["app"]


def test_each_api_key_has_its_own_budget(limited: tuple[TestClient, FastAPI]) -> None:
    client, app = limited
    first, second = make_tenant(app.state.db, "A"), make_tenant(app.state.db, "B")
    statuses = [client.get("/api/v1/orders", headers=first.headers).status_code for _ in range(10)]
    assert statuses == [200] * 8 + [429, 429]
    refused = client.get("/api/v1/orders", headers=first.headers)
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/orders", headers=second.headers).status_code == 200


def test_a_device_posting_too_fast_is_throttled_alone(
    limited: tuple[TestClient, FastAPI], tenant_of_limited: Tenant
) -> None:
    client, _ = limited
    for device in ("moto-1", "moto-2"):
        created = client.post(
            "/api/v1/devices",
            json={"device_id": device, "name": "Moto"},
            headers=tenant_of_limited.headers,
        )
        assert created.status_code == 201, created.text

    def fix(device: str, n: int) -> int:
        query = f"id={device}&lat=-23.56{n}&lon=-46.65&timestamp={1795000000 + n}"
        status: int = client.post(f"/osmand?{query}").status_code
        return status

    assert [fix("moto-1", n) for n in range(5)] == [200, 200, 200, 429, 429]
    assert fix("moto-2", 0) == 200


@pytest.fixture
def tenant_of_limited(limited: tuple[TestClient, FastAPI]) -> Tenant:
    return make_tenant(limited[1].state.db, "Loja Aurora")


def _writing_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in every_route(app):
        for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH"}):
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "1")
            found.append((method, path))
    return found


def test_every_writing_route_refuses_a_body_over_the_limit(settings: Settings) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    app = create_app(small)
    routes = _writing_routes(app)
    assert ("POST", "/osmand") in routes
    assert ("POST", "/t/1/verify") in routes
    assert len(routes) > 10
    big = b"x" * 4096
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in routes:
            for headers, body in (
                ({"content-type": "application/json"}, big),
                ({"content-type": "application/x-www-form-urlencoded"}, b"answer=" + big),
            ):
                declared = client.request(method, path, content=body, headers=headers)
                assert declared.status_code == 413, (method, path, declared.text)
                # Without Content-Length (chunked): counted while it is read.
                streamed = client.request(
                    method, path, content=iter([body[:1000], body[1000:]]), headers=headers
                )
                # Refused either way (some doors check the caller before reading).
                assert streamed.status_code in (413, 401, 403, 404), (method, path)
                if streamed.status_code == 413:
                    assert streamed.json()["error"]["code"] == "payload_too_large"


def test_a_streamed_body_over_the_limit_is_cut_off_on_the_public_doors(
    settings: Settings,
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    app = create_app(small)
    big = b"x" * 4096
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, content_type in (
            ("/osmand", "application/json"),
            ("/osmand", "application/x-www-form-urlencoded"),
            (f"/t/{new_tracking_code()}/verify", "application/x-www-form-urlencoded"),
            (f"/api/v1/track/{new_tracking_code()}/verify", "application/json"),
            (f"/api/v1/track/{new_tracking_code()}/ask", "application/json"),
        ):
            answer = client.post(
                path, content=iter([big[:1000], big[1000:]]), headers={"content-type": content_type}
            )
            assert answer.status_code == 413, (path, content_type, answer.text)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 20),
    steps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=80),
)
def test_waiting_the_retry_after_is_always_enough(limit: int, steps: list[float]) -> None:
    now = [0.0]
    window = SlidingWindow(limit, 60, clock=lambda: now[0])
    for step in steps:
        now[0] += step
        wait = window.take("k")
        if wait > 0:
            assert wait <= 120
            now[0] += wait
            assert window.retry_after("k") == 0
            assert window.take("k") == 0


@given(limit=st.integers(1, 30), burst=st.integers(0, 80), spread=st.floats(0, 59.9))
def test_a_burst_inside_one_window_is_counted_exactly(
    limit: int, burst: int, spread: float
) -> None:
    now = [1000.0]
    window = SlidingWindow(limit, 60, clock=lambda: now[0])
    allowed = 0
    for i in range(burst):
        now[0] = 1000.0 + spread * i / max(burst, 1)
        allowed += window.take("k") == 0
    assert allowed == min(burst, limit)
