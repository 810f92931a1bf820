"""Logs: one JSON line per request with its id; no secret and no personal data, even
at DEBUG, through a realistic run (orders, events, privacy gate, assistant, a
courier device, mistakes and a crash)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.kit.clock import FixedClock
from rumbo.ops.logs import logging_config, redact, secrets_of
from tests.conftest import make_tenant
from tests.factories import event_body, order_body

CUSTOMER = {
    "name": "Joaquina Brandão Vasconcelos",
    "email": "joaquina.vasconcelos@example.com",
    "phone": "+5511987651234",
    "locale": "pt-BR",
    "postal_code": "04538-133",
}
STREET = "Rua Tabapuã, 1123 apto 71"
COURIER_AT = ("-23.587216", "-46.682731")


def _capture(config: dict[str, Any]) -> io.StringIO:
    """Apply ``config`` with its one handler writing to a buffer instead of stderr."""
    buffer = io.StringIO()
    config["handlers"]["stderr"]["stream"] = buffer
    logging.config.dictConfig(config)
    return buffer


@pytest.fixture
def logged(
    settings: Settings, clock: FixedClock
) -> Iterator[tuple[FastAPI, TestClient, Settings, io.StringIO]]:
    secret = settings.model_copy(
        update={
            "secret_key": "k3y-0f-th3-st0r3-9f8e7d6c5b4a",
            "smtp_password": "smtp-pa55w0rd-very-private",
            "twilio_auth_token": "tw1l10-t0k3n-abcdef123456",
            "log_level": "DEBUG",
        }
    )
    before = logging.root.handlers[:], logging.root.level
    buffer = _capture(logging_config("DEBUG", "json", secrets_of(secret)))
    app = create_app(secret, clock=clock)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield app, client, secret, buffer
    finally:
        logging.root.handlers[:], _ = before
        logging.root.setLevel(before[1])


def test_a_realistic_run_logs_no_secret_and_no_personal_data(
    logged: tuple[FastAPI, TestClient, Settings, io.StringIO],
) -> None:
    app, client, settings, buffer = logged
    tenant = make_tenant(app.state.db, "Loja Aurora")
    order = client.post(
        "/api/v1/orders",
        json=order_body(
            customer=CUSTOMER,
            destination={
                "line1": STREET,
                "city": "São Paulo",
                "state": "SP",
                "postal_code": "04538-133",
                "country": "BR",
            },
        ),
        headers=tenant.headers,
    ).json()
    code = order["tracking_code"]
    client.post("/api/v1/events", json=event_body(order), headers=tenant.headers)
    client.post("/api/v1/events", json=[{"bad": "event"}], headers=tenant.headers)
    verified = client.post(f"/api/v1/track/{code}/verify", json={"email": CUSTOMER["email"]}).json()
    token = verified["token"]
    client.get(f"/api/v1/track/{code}", headers={"X-Tracking-Token": token})
    client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "99999-999"})
    client.post(
        f"/api/v1/track/{code}/ask",
        json={"question": f"sou {CUSTOMER['name']}, meu telefone {CUSTOMER['phone']}"},
        headers={"X-Tracking-Token": token},
    )
    client.get("/api/v1/orders", headers={"Authorization": "Bearer rk_not_a_real_key_123456"})
    client.cookies.set(f"rumbo_t_{code}", token)
    client.get(f"/t/{code}")
    client.cookies.clear()
    client.post(
        "/api/v1/devices", json={"device_id": "moto-77", "name": "Moto"}, headers=tenant.headers
    )
    client.post(f"/osmand?id=moto-77&lat={COURIER_AT[0]}&lon={COURIER_AT[1]}&timestamp=1795000000")
    client.get(f"/api/v1/orders?password={settings.smtp_password}", headers=tenant.headers)
    # Code that logs carelessly is caught too: the filter, not discipline, protects.
    logging.getLogger("rumbo.careless").warning(
        "retrying %s with key %s for %s <%s> at %s,%s; db %s",
        f"https://api.example/hook?token={settings.twilio_auth_token}",
        tenant.api_key,
        CUSTOMER["name"],
        CUSTOMER["email"],
        *COURIER_AT,
        f"postgresql://rumbo:{settings.smtp_password}@db/rumbo",
    )
    try:
        raise RuntimeError(f"failed for {CUSTOMER['email']} with {settings.secret_key}")
    except RuntimeError:
        logging.getLogger("rumbo.careless").exception("boom")

    output = buffer.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(lines) >= 15
    forbidden = [
        tenant.api_key,
        token,
        settings.secret_key,
        settings.smtp_password,
        settings.twilio_auth_token,
        CUSTOMER["email"],
        CUSTOMER["phone"],
        "98765-1234",
        STREET,
        "Tabapuã",
        *COURIER_AT,
    ]
    for value in forbidden:
        assert value not in output, value
    # Names cannot be recognised by shape: they must simply never be logged by Rumbo.
    rumbo_lines = [line for line in lines if line["logger"] != "rumbo.careless"]
    assert CUSTOMER["name"] not in json.dumps(rumbo_lines, ensure_ascii=False)
    assert code not in json.dumps(rumbo_lines)  # paths are logged as route templates

    access = [line for line in lines if line["logger"] == "rumbo.access"]
    assert {"method", "route", "status", "duration_ms", "request_id"} <= set(access[0])
    routes = {(a["method"], a["route"], a["status"]) for a in access}
    assert ("GET", "/api/v1/track/{tracking_code}", 200) in routes
    assert ("POST", "/api/v1/track/{tracking_code}/verify", 403) in routes
    assert ("GET", "/api/v1/orders", 401) in routes
    careless = [line for line in lines if line["logger"] == "rumbo.careless"]
    assert "-23.58," in careless[0]["message"]  # rounded: a neighbourhood, not a door
    assert "[email]" in careless[1]["exception"]


def test_a_sane_request_id_is_kept_and_echoed_and_others_are_replaced(
    client: TestClient,
) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" level=error\tfake'})
    assert forged.headers["x-request-id"] != 'x" level=error\tfake'
    assert len(forged.headers["x-request-id"]) == 32
    fresh = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(fresh) == 3


def test_text_format_carries_the_request_id() -> None:
    before = logging.root.handlers[:], logging.root.level
    buffer = _capture(logging_config("INFO", "text", ["s3cr3t-value"]))
    try:
        log = logging.getLogger("rumbo.test")
        from rumbo.ops.logs import REQUEST_ID

        token = REQUEST_ID.set("req-1")
        log.info("connecting with s3cr3t-value to ana@example.com")
        REQUEST_ID.reset(token)
    finally:
        logging.root.handlers[:], _ = before
        logging.root.setLevel(before[1])
    line = buffer.getvalue().strip().splitlines()[-1]
    assert line.endswith("connecting with [secret] to [email] rid=req-1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def.ghi-123", "Authorization: [secret] [secret]"),
        ("mqtt://courier:hunter22@broker:1883", "mqtt://courier:[secret]@broker:1883"),
        ("?signing_secret=whsec_abc123&x=1", "?signing_secret=[secret]&x=1"),
        ("Cookie: rumbo_t_X=eyJhbGciOi", "Cookie: [secret]"),
        ("ligue (11) 98765-4321", "ligue [phone]"),
        ("at 2026-11-23 took 12.5 ms, rumbo 0.1.0", "at 2026-11-23 took 12.5 ms, rumbo 0.1.0"),
    ],
)
def test_redaction_by_shape(text: str, expected: str) -> None:
    assert redact(text) == expected
