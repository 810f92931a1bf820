"""Schemathesis against Rumbo's own OpenAPI schema: every operation, with a valid API
key, on a seeded database of each kind (SQLite, and PostgreSQL, where production runs
and where some inputs fail that SQLite stores). No server error, and every response
matches what the schema promises (status code, content type, body)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.merchants.service import create_merchant
from rumbo.migrations import upgrade
from tests.conftest import NOW, emptied
from tests.factories import event_body, order_body

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Seeded:
    """What the fuzzer may aim at besides random values: real ids, codes and tokens."""

    app: FastAPI
    api_key: str
    tracking_codes: list[str]
    track_tokens: list[str]
    order_ids: list[str]
    device_ids: list[str]
    webhook_ids: list[str]
    carrier_tokens: dict[str, str]

    def real_values(self) -> dict[str, list[str]]:
        return {
            "tracking_code": self.tracking_codes,
            "order_id": self.order_ids,
            "device_id": self.device_ids,
            "endpoint_id": self.webhook_ids,
        }


# The schema is read at collection time (schemathesis parametrises by operation), so the
# app exists then; its database is created and seeded only when the tests run. Building
# the app opens no connection.
_FOLDER = Path(tempfile.mkdtemp(prefix="rumbo-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
_URL = f"sqlite:///{_FOLDER / 'rumbo.db'}"


def _app(url: str) -> FastAPI:
    return create_app(
        Settings(
            database_url=url, env="test", secret_key="fuzz-secret", base_url="http://rumbo.test"
        )
    )


APP = _app(_URL)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest) -> Iterator[Seeded]:
    if request.param == "sqlite":
        app = APP
        upgrade(_URL)
    else:
        # The session's migrated private schema, emptied as every PostgreSQL test does.
        app = _app(emptied(request.getfixturevalue("postgres_schema_url")))
    with app.state.db.session() as session:
        api_key = create_merchant(session, "Loja Fuzz", NOW).api_key
    auth = {"Authorization": f"Bearer {api_key}"}
    seeded = Seeded(app, api_key, [], [], [], [], [], {})
    # schemathesis types an ASGI app with dict scopes; Starlette's takes any MutableMapping.
    with asgi.get_client(app) as client:  # type: ignore[arg-type]
        for n in range(3):
            created = client.post("/api/v1/orders", json=order_body(), headers=auth)
            assert created.status_code == 201, created.text
            order = created.json()
            seeded.order_ids.append(str(order["id"]))
            seeded.tracking_codes.append(order["tracking_code"])
            for status in ("payment_confirmed", "shipped", "in_transit")[: n + 1]:
                sent = client.post(
                    "/api/v1/events", json=event_body(order, status=status), headers=auth
                )
                assert sent.status_code in (200, 201), sent.text
            verified = client.post(
                f"/api/v1/track/{order['tracking_code']}/verify", json={"postal_code": "01310-100"}
            )
            assert verified.status_code == 200, verified.text
            seeded.track_tokens.append(verified.json()["token"])
        # The assistant trains its classifier on the first question (seconds): do it here,
        # outside the fuzzer's per-request timeout.
        asked = client.post(
            f"/api/v1/track/{seeded.tracking_codes[0]}/ask", json={"question": "cadê meu pedido?"}
        )
        assert asked.status_code == 200, asked.text
        device = client.post(
            "/api/v1/devices", json={"device_id": "moto-fuzz", "name": "Moto 7"}, headers=auth
        )
        assert device.status_code == 201, device.text
        seeded.device_ids.append("moto-fuzz")
        webhook = client.post(
            "/api/v1/webhooks", json={"url": "https://hooks.rumbo-fuzz.example/hook"}, headers=auth
        )
        assert webhook.status_code == 201, webhook.text
        seeded.webhook_ids.append(str(webhook.json()["id"]))
        for carrier in ("correios", "easypost"):
            connected = client.put(f"/api/v1/carriers/{carrier}", json={}, headers=auth)
            assert connected.status_code == 200, connected.text
            seeded.carrier_tokens[carrier] = connected.json()["webhook_url"].rsplit("/", 1)[-1]
    yield seeded
    asgi.shutdown_lifespans()
    app.state.db.dispose()


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, seeded: Seeded) -> None:
    """A quarter of the cases keep the fuzzer's own ids; the rest aim at real ones, so
    the handlers behind the 404s run too. Which is which follows from the generated
    values, so a seed replays the same requests."""
    aim = zlib.crc32(repr((case.path_parameters, case.query)).encode()) % 4
    if aim and case.path_parameters:
        for name, values in seeded.real_values().items():
            if name in case.path_parameters:
                case.path_parameters[name] = values[aim % len(values)]
        if "carrier" in case.path_parameters and "token" in case.path_parameters:
            carrier = ("correios", "easypost")[aim % 2]
            case.path_parameters["carrier"] = carrier
            case.path_parameters["token"] = seeded.carrier_tokens[carrier]
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    if aim >= 2 and case.headers is not None and "X-Tracking-Token" in case.headers:
        headers["X-Tracking-Token"] = seeded.track_tokens[aim % len(seeded.track_tokens)]
    case.call_and_validate(headers=headers, checks=CHECKS, app=seeded.app)


# -- integers out of range ----------------------------------------------------------------

OUT_OF_RANGE = (2**63, -(2**63) - 1, 10**30)


def _integer_fields(node: Any, components: dict[str, Any], seen: frozenset[str]) -> list[Any]:
    """Every integer schema reachable from ``node`` (through $ref, properties, items…)."""
    if isinstance(node, list):
        return [found for item in node for found in _integer_fields(item, components, seen)]
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _integer_fields(components[name], components, seen | {name})
    found = [node] if node.get("type") == "integer" else []
    for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
        value = node.get(key)
        if isinstance(value, dict) and key == "properties":
            value = list(value.values())
        found += _integer_fields(value, components, seen)
    return found


def test_every_integer_the_api_accepts_is_bounded(seeded: Seeded) -> None:
    """Both databases store signed 64-bit integers: an unbounded integer in a path, query
    or body would reach the driver and fail there (a 500) instead of being a 422."""
    spec = seeded.app.openapi()
    components = spec["components"]["schemas"]
    unbounded = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            sources = [p.get("schema", {}) for p in operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {})
            sources += [content.get("schema", {}) for content in body.values()]
            for field in _integer_fields(sources, components, frozenset()):
                if "maximum" not in field and "exclusiveMaximum" not in field:
                    unbounded.append(f"{method.upper()} {path}")
    assert unbounded == []


def test_out_of_range_integers_are_a_4xx_everywhere(seeded: Seeded) -> None:
    """Every integer path or query parameter, and every integer field of every example
    body, given 2^63, -2^63-1 and 10^30: a 4xx JSON error, never a 500."""
    client = TestClient(seeded.app, raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    spec = seeded.app.openapi()
    components = spec["components"]["schemas"]
    tried = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            real = {name: values[0] for name, values in seeded.real_values().items()}
            params = operation.get("parameters", [])
            filled = {p["name"]: real.get(p["name"], "1") for p in params if p["in"] == "path"}
            for param in params:
                if param.get("schema", {}).get("type") != "integer":
                    continue
                for value in OUT_OF_RANGE:
                    values = filled | {param["name"]: str(value)}
                    url = path.format(**values) if param["in"] == "path" else path.format(**filled)
                    query = {param["name"]: str(value)} if param["in"] == "query" else {}
                    response = client.request(method, url, params=query, headers=headers)
                    assert 400 <= response.status_code < 500, (method, url, query, response.text)
                    tried += 1
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").rsplit("/", 1)[-1]
            model = components.get(name, {})
            for example in model.get("examples", []):
                if not isinstance(example, dict):
                    continue
                for field, spec_field in model.get("properties", {}).items():
                    if not _integer_fields(spec_field, components, frozenset()):
                        continue
                    for value in OUT_OF_RANGE:
                        response = client.request(
                            method,
                            path.format(**filled),
                            json=example | {field: value},
                            headers=headers,
                        )
                        assert 400 <= response.status_code < 500, (method, path, field, value)
                        assert response.json()["error"]["code"], response.text
                        tried += 1
    assert tried > 30
