"""Malformed requests: each gets a clear 4xx JSON error, never a 500 or a partial write."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.models import Event, Order
from tests.conftest import Tenant
from tests.factories import event_body, order_body


def _cases(order: dict[str, Any]) -> list[tuple[str, str, Any, int, str]]:
    ok = event_body(order)
    return [
        ("POST", "/api/v1/events", b"{not json", 400, "invalid_json"),
        ("POST", "/api/v1/events", b"", 400, "invalid_json"),
        ("POST", "/api/v1/events", 42, 422, "validation_error"),
        ("POST", "/api/v1/events", [], 422, "empty_batch"),
        ("POST", "/api/v1/events", [ok] * 1001, 413, "batch_too_large"),
        ("POST", "/api/v1/events", ok | {"status": "lost_in_space"}, 422, "validation_error"),
        (
            "POST",
            "/api/v1/events",
            ok | {"occurred_at": "2026-11-21T09:00:00"},
            422,
            "validation_error",
        ),
        ("POST", "/api/v1/events", ok | {"occurred_at": "yesterday"}, 422, "validation_error"),
        (
            "POST",
            "/api/v1/events",
            ok | {"occurred_at": "0001-01-01T00:00:00+00:00"},
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/events",
            ok | {"occurred_at": "9999-12-31T23:59:59-12:00"},
            422,
            "validation_error",
        ),
        ("POST", "/api/v1/events", ok | {"source": "psychic"}, 422, "validation_error"),
        ("POST", "/api/v1/events", ok | {"event_id": ""}, 422, "validation_error"),
        ("POST", "/api/v1/events", ok | {"event_id": 7}, 422, "validation_error"),
        ("POST", "/api/v1/events", ok | {"location": {"lat": 123}}, 422, "validation_error"),
        ("POST", "/api/v1/events", ok | {"surprise": True}, 422, "validation_error"),
        (
            "POST",
            "/api/v1/events",
            {k: v for k, v in ok.items() if k != "tracking_code"},
            422,
            "validation_error",
        ),
        ("POST", "/api/v1/events", ok | {"carrier": "correios"}, 422, "validation_error"),
        # PostgreSQL stores no NUL in text: refused on both databases alike.
        ("POST", "/api/v1/events", ok | {"description": "a\x00b"}, 422, "validation_error"),
        ("POST", "/api/v1/events", [ok | {"event_id": "e\x00"}], 422, "all_rejected"),
        ("POST", "/api/v1/events", ok | {"location": {"city": "\x00"}}, 422, "validation_error"),
        # Longer than its column: PostgreSQL refuses what SQLite would store.
        (
            "POST",
            "/api/v1/events",
            ok | {"location": {"state": "S" * 101}},
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/webhooks",
            {"url": "https://hooks.example/" + "a" * 2000},
            422,
            "validation_error",
        ),
        (  # short as typed, 2,100 characters once percent-encoded
            "POST",
            "/api/v1/webhooks",
            {"url": "https://hooks.example/" + "é" * 350},
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/events",
            [event_body(None, external_id="GHOST")] * 3,
            422,
            "all_rejected",
        ),
        ("POST", "/api/v1/orders", b"[1,2", 400, "invalid_json"),
        ("POST", "/api/v1/orders", {}, 422, "validation_error"),
        ("POST", "/api/v1/orders", order_body(customer={"locale": "fr"}), 422, "validation_error"),
        (
            "POST",
            "/api/v1/orders",
            order_body(customer={"email": "not-an-email"}),
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/orders",
            order_body(promised_delivery_date="someday"),
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/orders",
            order_body(placed_at="2026-11-20T10:00:00"),
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/orders",
            order_body(items=[{"name": "x", "quantity": 0}]),
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/orders",
            order_body(destination={"city": "X", "country": "Brazil"}),
            422,
            "validation_error",
        ),
        ("POST", "/api/v1/orders", order_body(external_id="x" * 500), 422, "validation_error"),
        ("POST", "/api/v1/orders", order_body(external_id="P\x00"), 422, "validation_error"),
        (
            "POST",
            "/api/v1/orders",
            order_body(customer={"name": "Ana\x00"}),
            422,
            "validation_error",
        ),
        (
            "POST",
            "/api/v1/orders",
            order_body(destination={"city": "S\x00o Paulo", "country": "BR"}),
            422,
            "validation_error",
        ),
        ("GET", "/api/v1/orders/abc", None, 422, "validation_error"),
        ("GET", "/api/v1/orders/999999", None, 404, "order_not_found"),
        ("GET", "/api/v1/orders?limit=0", None, 422, "validation_error"),
        ("GET", "/api/v1/orders?status=lost", None, 422, "validation_error"),
        ("GET", "/api/v1/orders?cursor=%%%", None, 400, "invalid_cursor"),
        (
            "POST",
            "/api/v1/orders/999999/shipments",
            {"carrier": "x", "tracking_number": "y"},
            404,
            "order_not_found",
        ),
        (
            "POST",
            f"/api/v1/orders/{order['id']}/shipments",
            {"carrier": ""},
            422,
            "validation_error",
        ),
        (
            "POST",
            f"/api/v1/orders/{order['id']}/shipments",
            {"carrier": "correios", "tracking_number": "AA\x00"},
            422,
            "validation_error",
        ),
        (
            "POST",
            f"/api/v1/orders/{order['id']}/shipments",
            {"carrier": "correios", "tracking_number": "AA1", "service": "S" * 101},
            422,
            "validation_error",
        ),
        ("GET", f"/api/v1/orders/{2**31}", None, 422, "validation_error"),
        ("POST", f"/api/v1/track/{order['tracking_code']}/verify", {}, 422, "validation_error"),
        ("DELETE", "/api/v1/orders", None, 405, "method_not_allowed"),
        ("GET", "/api/v1/nowhere", None, 404, "not_found"),
    ]


def test_every_malformed_request_gets_a_clear_4xx(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    with db.session(write=False) as session:
        counts = (
            session.scalar(select(func.count()).select_from(Event)),
            session.scalar(select(func.count()).select_from(Order)),
        )
    failures = []
    for method, path, body, status, code in _cases(order):
        kwargs: dict[str, Any] = {"headers": tenant.headers}
        if isinstance(body, bytes):
            kwargs["content"] = body
            kwargs["headers"] = tenant.headers | {"Content-Type": "application/json"}
        elif body is not None:
            kwargs["json"] = body
        response = client.request(method, path, **kwargs)
        error = (
            response.json().get("error", {})
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if response.status_code != status or error.get("code") != code or not error.get("message"):
            failures.append((method, path, response.status_code, response.text[:200]))
    assert failures == []
    with db.session(write=False) as session:
        after = (
            session.scalar(select(func.count()).select_from(Event)),
            session.scalar(select(func.count()).select_from(Order)),
        )
    assert after == counts  # nothing was written by any of them


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_oversized_body_is_refused_before_it_is_read(client: TestClient, tenant: Tenant) -> None:
    huge = b"[" + b" " * (5 * 1024 * 1024) + b"]"
    response = client.post(
        "/api/v1/events",
        content=huge,
        headers=tenant.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_nul_in_the_address_or_a_form_is_never_a_500(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    """PostgreSQL stores and compares no NUL in text: a search term or a form field with
    one (``%00``) that reaches it is a 400; where nothing reaches the database, or on
    SQLite, the request is answered as any other."""
    on_postgres = not database_url.startswith("sqlite")
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()

    search = client.get("/api/v1/orders?q=a%00b", headers=tenant.headers)
    if on_postgres:
        assert search.status_code == 400
        assert search.json()["error"]["code"] == "nul_character"
    else:
        assert search.status_code == 200
        assert search.json()["items"] == []
    lookup = client.get("/api/v1/track/AB%00CD")
    assert lookup.status_code == 404  # not a tracking code: refused before any query

    ask = f"/t/{order['tracking_code']}/ask?lang=en"
    page = client.get(f"/t/{order['tracking_code']}?lang=en")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"form_token": token.group(1)}
    origin = {"Origin": "http://testserver"}
    response = client.post(
        ask, data=form | {"question": "onde está\x00 meu pedido?"}, headers=origin
    )
    assert response.status_code == (400 if on_postgres else 200), response.text[:300]
    # A percent sign (sent as %25) followed by zeros is no NUL.
    response = client.post(ask, data=form | {"question": "100%00 entregue?"}, headers=origin)
    assert response.status_code == 200, response.text[:300]
