"""Carrier connections and webhooks over HTTP: real bodies replayed into real orders."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rumbo.carriers.aggregators import aftership
from rumbo.carriers.base import PayloadError
from rumbo.carriers.registry import ADAPTERS
from rumbo.carriers.spain import sign
from rumbo.db import Database
from rumbo.models import CarrierConnection, Event
from tests.carriers.factories import connect, order_status, order_with_parcel, webhook_path
from tests.conftest import Tenant


@pytest.fixture(scope="session")
def payloads(shared_data: Path) -> Path:
    return shared_data / "payloads"


def post(client: TestClient, path: str, body: bytes, **headers: str) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


def relay(number: str, *events: dict[str, Any]) -> bytes:
    return json.dumps({"tracking_number": number, "events": list(events)}).encode()


# --- connections -----------------------------------------------------------------------


def test_unknown_carrier_is_404_listing_the_known_ones(client: TestClient, tenant: Tenant) -> None:
    response = client.put("/api/v1/carriers/pony_express", json={}, headers=tenant.headers)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_carrier"
    assert error["details"]["known"] == sorted(ADAPTERS)


def test_connecting_needs_an_api_key(client: TestClient) -> None:
    assert client.put("/api/v1/carriers/seur", json={}).status_code == 401


def test_connection_shows_its_url_once_and_lists_without_secrets(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    created = connect(client, tenant, "easypost", signing_secret="whsec_abc")
    assert created["carrier"] == "easypost"
    assert created["signature_header"] == "X-Hmac-Signature"
    assert created["signs"] is True
    token = created["webhook_url"].rsplit("/", 1)[1]
    assert created["webhook_url"] == f"http://rumbo.test/api/v1/carriers/easypost/webhook/{token}"
    listed = client.get("/api/v1/carriers", headers=tenant.headers).json()
    assert listed == [
        {
            "carrier": "easypost",
            "signature_header": "X-Hmac-Signature",
            "signs": True,
            "created_at": "2026-11-23T12:00:00Z",
        }
    ]
    assert token not in json.dumps(listed)
    assert "whsec_abc" not in json.dumps(listed)
    with db.session(write=False) as session:
        stored = session.scalars(select(CarrierConnection)).one()
    assert token not in stored.token_hash  # only the digest is kept


def test_rotating_the_url_retires_the_old_token_and_keeps_the_secret(
    client: TestClient, tenant: Tenant
) -> None:
    first = connect(client, tenant, "seur", signing_secret="s3cret")
    second = connect(client, tenant, "seur")
    assert first["webhook_url"] != second["webhook_url"]
    assert second["signs"] is True  # omitted secret: kept
    body = relay("ES1", {"code": "LL001", "occurred_at": "2026-11-23T10:00:00+01:00"})
    signed = {"X-Rumbo-Signature": sign(body, "s3cret")}
    assert post(client, webhook_path(first), body, **signed).status_code == 404
    assert post(client, webhook_path(second), body, **signed).status_code == 200
    cleared = connect(client, tenant, "seur", signing_secret=None)
    assert cleared["signs"] is False
    assert post(client, webhook_path(cleared), body).status_code == 200


def test_a_signing_secret_for_a_carrier_that_does_not_sign_is_refused(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.put(
        "/api/v1/carriers/shippo", json={"signing_secret": "x"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "signing_not_supported"


def test_a_wrong_token_or_carrier_is_404(client: TestClient, tenant: Tenant) -> None:
    path = webhook_path(connect(client, tenant, "seur"))
    body = relay("ES1")
    assert post(client, path[:-2] + "xx", body).status_code == 404
    assert post(client, path.replace("/seur/", "/ctt_express/"), body).status_code == 404
    assert post(client, path.replace("/seur/", "/nope/"), body).status_code == 404


# --- deliveries ------------------------------------------------------------------------


def test_a_bad_signature_is_401_and_nothing_is_stored(
    client: TestClient, tenant: Tenant, payloads: Path, db: Database
) -> None:
    body = payloads / "aftership/vibrent__AfterShipCallbackResourceTest__tracking_update_raw.json"
    raw = body.read_bytes()
    order = order_with_parcel(client, tenant, "aftership", "123456789")
    path = webhook_path(connect(client, tenant, "aftership", signing_secret="af-secret"))
    bad = post(client, path, raw, **{"aftership-hmac-sha256": aftership.sign(raw, "other")})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "invalid_signature"
    assert post(client, path, raw).status_code == 401  # unsigned
    with db.session(write=False) as session:
        assert session.scalars(select(Event).where(Event.source == "carrier")).all() == []
    good = post(client, path, raw, **{"aftership-hmac-sha256": aftership.sign(raw, "af-secret")})
    assert good.status_code == 200
    assert good.json()["accepted"] == 1
    assert order_status(client, tenant, order["id"]) == "delivered"


def test_a_malformed_body_is_400_with_the_parsers_message(
    client: TestClient, tenant: Tenant
) -> None:
    path = webhook_path(connect(client, tenant, "shippo"))
    response = post(client, path, b'{"event": "track_updated", "data": 3}')
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_payload",
        "message": "shippo: 'data' must be an object",
    }


def test_events_for_unknown_parcels_are_rejected_per_item_but_answered_200(
    client: TestClient, tenant: Tenant
) -> None:
    path = webhook_path(connect(client, tenant, "ctt_express"))
    response = post(
        client, path, relay("NOPE1", {"code": "3", "occurred_at": "2026-11-23T10:00:00+01:00"})
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (0, 0, 1)
    assert body["results"][0]["error"]["code"] == "unknown_shipment"


def test_an_implausible_date_rejects_that_item_only(client: TestClient, tenant: Tenant) -> None:
    order_with_parcel(client, tenant, "seur", "ES-DATE-1")
    path = webhook_path(connect(client, tenant, "seur"))
    body = relay(
        "ES-DATE-1",
        {"code": "LC014", "occurred_at": "0001-01-01T00:00:00+00:00"},
        {"code": "LC014", "occurred_at": "2026-11-23T10:00:00+01:00"},
    )
    answer = post(client, path, body)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [(r["index"], r["outcome"]) for r in results] == [(0, "rejected"), (1, "accepted")]
    assert results[0]["error"]["code"] == "invalid_occurred_at"


def test_a_coordinate_too_large_for_a_float_is_dropped_not_a_500(
    client: TestClient, tenant: Tenant
) -> None:
    path = webhook_path(connect(client, tenant, "aftership"))
    checkpoint = (
        '{"checkpoint_time": "2026-11-23T10:00:00Z", "tag": "InTransit", '
        '"coordinates": [1' + "0" * 400 + ", 2]}"
    )
    body = f'{{"msg": {{"tracking_number": "AS1", "checkpoints": [{checkpoint}]}}}}'.encode()
    answer = post(client, path, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["error"]["code"] == "unknown_shipment"


def test_a_delivery_keeps_the_carriers_words_and_raw_piece(
    client: TestClient, tenant: Tenant
) -> None:
    order = order_with_parcel(client, tenant, "seur", "ES0123456789")
    path = webhook_path(connect(client, tenant, "seur"))
    item = {
        "code": "LL001",
        "description": "Entregado",
        "occurred_at": "2026-11-23T10:15:00+01:00",
        "event_id": "seur-998877",
        "location": {"city": "Madrid", "state": "M", "country": "es"},
    }
    assert post(client, path, relay("ES0123456789", item)).json()["accepted"] == 1
    timeline = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers).json()
    event = timeline[-1]
    assert event["source"] == "carrier"
    assert event["event_id"] == "seur-998877"
    assert event["status"] == "delivered"
    assert event["code"] == "LL001"
    assert event["description"] == "Entregado"
    assert event["location"] == {
        "city": "Madrid", "state": "M", "country": "ES", "lat": None, "lon": None
    }  # fmt: skip
    assert event["raw"] == item
    assert event["occurred_at"] == "2026-11-23T09:15:00Z"


# --- every real body, replayed ---------------------------------------------------------


def real_bodies(payloads: Path, sro_responses: dict[str, bytes]) -> list[tuple[str, str, bytes]]:
    """(carrier, name, body) for every stored aggregator body and recorded SRO response."""
    bodies = [
        (path.parent.name, path.name, path.read_bytes())
        for path in sorted(payloads.glob("*/*.json"))
    ]
    bodies += [("correios", name, body) for name, body in sorted(sro_responses.items())]
    return bodies


def parcels_of(bodies: list[tuple[str, str, bytes]]) -> set[tuple[str, str]]:
    parcels = set()
    for carrier, _, body in bodies:
        try:
            events = ADAPTERS[carrier].parse(body, {})
        except PayloadError:  # the endpoint answers 400; checked below
            continue
        parcels |= {(carrier, e.tracking_number) for e in events}
    return parcels


def deliver_all(
    client: TestClient, paths: dict[str, str], bodies: list[tuple[str, str, bytes]]
) -> dict[str, Any]:
    answers = {}
    for carrier, name, body in bodies:
        response = post(client, paths[carrier], body)
        assert response.status_code in (200, 400), (name, response.text)
        if response.status_code == 400:
            assert response.json()["error"]["code"] == "invalid_payload"
        answers[name] = response.json()
    return answers


def test_every_real_body_lands_in_its_order_replayed_twice_and_shuffled(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    payloads: Path,
    sro_responses: dict[str, bytes],
) -> None:
    bodies = real_bodies(payloads, sro_responses)
    parcels = sorted(parcels_of(bodies))
    orders: dict[tuple[int, tuple[str, str]], int] = {}
    paths: dict[int, dict[str, str]] = {}
    for who in (tenant, other_tenant):
        paths[who.merchant_id] = {
            c: webhook_path(connect(client, who, c)) for c in {c for c, _, _ in bodies}
        }
        for carrier, number in parcels:
            orders[(who.merchant_id, (carrier, number))] = order_with_parcel(
                client, who, carrier, number
            )["id"]

    first = deliver_all(client, paths[tenant.merchant_id], bodies)
    # The signing vector and the SDK's camelCase rendering are not webhook bodies.
    assert sorted(name for name, a in first.items() if "error" in a) == [
        "fixtures__client-library-fixtures__webhooks.json",
        "vibrent__GetTrackingJobTest__dhl_tracking_update_sdk_camelCase.json",
    ]
    stored = [r for a in first.values() for r in a.get("results", ())]
    assert stored
    assert all(r["outcome"] in ("accepted", "duplicate") for r in stored)
    assert sum(a.get("accepted", 0) for a in first.values()) > 30
    statuses = {
        parcel: order_status(client, tenant, orders[(tenant.merchant_id, parcel)])
        for parcel in parcels
    }
    assert statuses[("easypost", "EZ4000000004")] == "delivered"
    assert statuses[("shippo", "9205590164917337534322")] == "delivered"
    assert statuses[("aftership", "123456789")] == "delivered"
    assert statuses[("correios", "BE058714266BR")] == "returned"

    # The same bodies again, in another order: every event is a duplicate of itself.
    shuffled = bodies[:]
    random.Random(5).shuffle(shuffled)
    again = deliver_all(client, paths[tenant.merchant_id], shuffled)
    for name, answer in again.items():
        if "error" in answer:
            continue
        assert all(r["outcome"] == "duplicate" for r in answer["results"]), name
        assert [r["id"] for r in answer["results"]] == [r["id"] for r in first[name]["results"]]
    for parcel in parcels:
        assert (
            order_status(client, tenant, orders[(tenant.merchant_id, parcel)]) == statuses[parcel]
        )

    # Another merchant receives them first in a different order (and twice): same statuses.
    random.Random(11).shuffle(shuffled)
    deliver_all(client, paths[other_tenant.merchant_id], shuffled + shuffled[::-1])
    for parcel in parcels:
        assert (
            order_status(client, other_tenant, orders[(other_tenant.merchant_id, parcel)])
            == statuses[parcel]
        ), parcel


# --- never a 500 -----------------------------------------------------------------------

# Text with NUL, lone surrogates and over-long values: what neither database stores as is.
text = st.text(st.characters(categories=["L", "N", "P", "Zs", "Cc", "Cs"]), max_size=30)
long_text = st.text(min_size=190, max_size=1100)
relay_items = st.fixed_dictionaries(
    {
        "code": st.one_of(st.sampled_from(["LL001", "LC014", "ZZ1"]), text, st.integers()),
        "occurred_at": st.one_of(
            st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
            st.just("2026-11-23T10:00:00"),
            text,
        ),
    },
    optional={
        "description": st.one_of(st.none(), text, long_text),
        "event_id": st.one_of(st.none(), text, st.integers(), long_text),
        "location": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "city": st.one_of(st.none(), text, long_text),
                    "state": st.one_of(st.none(), text, long_text),
                    "country": st.one_of(st.none(), text),
                    "lat": st.one_of(st.none(), st.floats(), st.integers()),
                    "lon": st.one_of(st.none(), st.floats(), st.integers()),
                },
            ),
        ),
    },
)
relay_bodies = st.fixed_dictionaries(
    {
        "tracking_number": st.one_of(st.just("ES-FUZZ-1"), st.just("ES-FUZZ-1"), text),
        "events": st.lists(relay_items, min_size=1, max_size=4),
    }
).map(lambda d: json.dumps(d).encode())
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_clean(answer: Any) -> None:
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"]["code"] == "invalid_payload"
        event("400")
    else:
        event(f"200, stored: {answer.json()['accepted'] + answer.json()['duplicates'] > 0}")


@pytest.fixture
def seur_path(client: TestClient, tenant: Tenant) -> str:
    order_with_parcel(client, tenant, "seur", "ES-FUZZ-1")
    return webhook_path(connect(client, tenant, "seur"))


def test_nul_lone_surrogates_and_long_text_are_cleaned_not_a_500(
    client: TestClient, tenant: Tenant, seur_path: str
) -> None:
    item = {
        "code": "LC014\u0000",
        "occurred_at": "2026-11-23T10:00:00+01:00",
        "event_id": "x" * 300,
        "description": "em tr\u00e2nsito \u0000 \ud800",
        "location": {"city": "C" * 500, "country": "ESP"},
    }
    body = relay("ES-FUZZ-1", item)
    answer = post(client, seur_path, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert post(client, seur_path, body).json()["duplicates"] == 1
    order_id = answer.json()["results"][0]["order_id"]
    timeline = client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers).json()
    stored = timeline[-1]
    assert stored["code"] == "LC014"
    assert stored["status"] is None  # the adapter saw "LC014\\x00": not a SEUR code
    assert stored["description"] == "em trânsito  ?"
    assert stored["location"]["city"] == "C" * 200
    assert stored["location"]["country"] is None  # alpha-3 stays in raw
    assert stored["raw"]["location"]["country"] == "ESP"


@FUZZ
@given(body=relay_bodies)
def test_hostile_text_in_relayed_events_is_stored_or_refused_never_a_500(
    client: TestClient, seur_path: str, body: bytes
) -> None:
    assert_clean(post(client, seur_path, body))


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=200), relay_bodies), carrier=st.sampled_from(sorted(ADAPTERS))
)
def test_any_body_to_any_carrier_gets_a_clean_answer(
    client: TestClient, tenant: Tenant, body: bytes, carrier: str
) -> None:
    response = client.put(f"/api/v1/carriers/{carrier}", json={}, headers=tenant.headers)
    assert_clean(post(client, webhook_path(response.json()), body))
