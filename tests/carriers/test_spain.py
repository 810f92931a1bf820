"""SEUR, CTT Express and Correos (Spain): every published code mapped; Rumbo's JSON webhook."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rumbo.carriers.base import PayloadError
from rumbo.carriers.spain import (
    CTT_EXPRESS_CODES,
    SEUR_CODES,
    correos_es,
    ctt_express,
    seur,
    sign,
)
from rumbo.events.status import Status


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def spain_dir(shared_data: Path) -> Path:
    return shared_data / "carriers" / "spain"


def body(number: str, *events: dict[str, object]) -> bytes:
    return json.dumps({"tracking_number": number, "events": list(events)}).encode()


# --- every published code is in Rumbo's tables ----------------------------------------------


def test_every_seur_code_is_mapped_or_deliberately_informational(spain_dir: Path) -> None:
    rows = read_csv(spain_dir / "seur_tracking_states.csv")
    assert len(rows) == 402
    assert {r["seur_code"] for r in rows} == set(SEUR_CODES)
    for row in rows:
        status, text = SEUR_CODES[row["seur_code"]]
        assert status is None or isinstance(status, Status)
        assert " ".join(row["description_es"].split()) == text


def test_every_ctt_express_state_is_mapped(spain_dir: Path) -> None:
    rows = read_csv(spain_dir / "cttexpress_delivery_states.csv")
    assert len(rows) == 21
    assert {r["ctt_state_code"] for r in rows} == set(CTT_EXPRESS_CODES)
    for row in rows:
        assert CTT_EXPRESS_CODES[row["ctt_state_code"]][1] == row["description_es"]


def test_seur_delivered_group_never_maps_to_a_failure(spain_dir: Path) -> None:
    for row in read_csv(spain_dir / "seur_tracking_states.csv"):
        if row["oca_delivery_state"] == "customer_delivered":
            assert SEUR_CODES[row["seur_code"]][0] in {
                Status.DELIVERED,
                Status.AVAILABLE_FOR_PICKUP,
                Status.IN_TRANSIT,
                Status.EXCEPTION,
                None,
            }


def test_seur_place_scans_are_in_transit() -> None:
    places = [
        c
        for c, (_, text) in SEUR_CODES.items()
        if text.startswith(("MERCANCÍA EN ", "MERCANCIA EN N.T."))
    ]
    assert len(places) > 100
    assert {SEUR_CODES[c][0] for c in places} == {Status.IN_TRANSIT}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("LL001", Status.DELIVERED),
        ("LL020", Status.DELIVERED),  # left with the neighbour
        ("LC001", Status.OUT_FOR_DELIVERY),
        ("LI523", Status.DELIVERY_FAILED),  # closed or first absence
        ("LI521", Status.EXCEPTION),  # unknown address
        ("LI535", Status.EXCEPTION),  # lost
        ("LI848", Status.EXCEPTION),  # held by customs
        ("LI574", Status.AVAILABLE_FOR_PICKUP),
        ("LL835", Status.RETURNED),
        ("LL833", Status.EXCEPTION),  # return ordered, not yet returned
        ("LI519", Status.EXCEPTION),  # partial delivery
        ("LL873", Status.IN_TRANSIT),  # handed to a broker, not to the shopper
        ("LM001", None),  # billing error: informational
    ],
)
def test_seur_code_maps_to(code: str, expected: Status | None) -> None:
    assert seur.status_for(code) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("0", Status.PREPARING),
        ("2", Status.OUT_FOR_DELIVERY),
        ("3", Status.DELIVERED),
        ("03", Status.DELIVERED),
        ("5", Status.EXCEPTION),  # return started
        ("9", Status.RETURNED),
        ("8", Status.DELIVERY_FAILED),
        ("6", Status.AVAILABLE_FOR_PICKUP),
        ("12", Status.EXCEPTION),  # partial delivery
        ("90", Status.CANCELLED),
        ("99", None),
    ],
)
def test_ctt_express_state_maps_to(code: str, expected: Status | None) -> None:
    assert ctt_express.status_for(code) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("PRE-ADMISIÓN", Status.PREPARING),
        ("EN CAMINO", Status.IN_TRANSIT),
        ("en entrega", Status.OUT_FOR_DELIVERY),
        ("ENTREGADO", Status.DELIVERED),
        ("4", Status.DELIVERED),
        ("0", None),
    ],
)
def test_correos_es_phase_maps_to(code: str, expected: Status | None) -> None:
    assert correos_es.status_for(code) is expected


# --- the webhook shape ----------------------------------------------------------------------


def test_seur_webhook_parses_the_documented_shape() -> None:
    (event,) = seur.parse(
        body(
            "ES0123",
            {
                "code": "LL001",
                "description": "Entregado",
                "occurred_at": "2025-03-01T10:15:00+01:00",
                "location": {"city": "Madrid", "country": "ES", "lat": 40.4, "lon": -3.7},
            },
        ),
        {},
    )
    assert event.carrier == "seur"
    assert event.status is Status.DELIVERED
    assert event.occurred_at == datetime(2025, 3, 1, 9, 15, tzinfo=UTC)
    assert event.location is not None
    assert event.location.city == "Madrid"
    assert event.raw["code"] == "LL001"


def test_time_without_offset_is_madrid_time() -> None:
    (event,) = ctt_express.parse(body("X", {"code": 3, "occurred_at": "2025-07-01T12:00:00"}), {})
    assert event.occurred_at == datetime(2025, 7, 1, 10, 0, tzinfo=UTC)  # CEST, UTC+2
    assert event.text == "ENTREGADO"  # the table's wording when none is sent


def test_unknown_code_is_kept_as_informational_with_its_text() -> None:
    (event,) = seur.parse(
        body("X", {"code": "ZZ999", "description": "NUEVO", "occurred_at": "2025-01-01T00:00:00Z"}),
        {},
    )
    assert event.status is None
    assert event.text == "NUEVO"


def test_carrier_event_id_is_used_when_given_else_a_stable_hash() -> None:
    item: dict[str, object] = {"code": "LL001", "occurred_at": "2025-01-01T00:00:00Z"}
    (own,) = seur.parse(body("X", {**item, "event_id": "abc"}), {})
    assert own.event_id == "abc"
    first, second = seur.parse(body("X", item, item), {})
    assert first.event_id == second.event_id
    assert first == second


def test_signature_round_trip_and_tamper() -> None:
    payload = body("X", {"code": "LL001", "occurred_at": "2025-01-01T00:00:00Z"})
    headers = {"x-rumbo-signature": sign(payload, "s3cret")}
    assert seur.verify(payload, headers, "s3cret")
    assert not seur.verify(payload + b" ", headers, "s3cret")
    assert not seur.verify(payload, headers, "other")
    assert not seur.verify(payload, {}, "s3cret")


ON_NEW_YEAR = "2025-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"events": []},
        {"tracking_number": "X"},
        {"tracking_number": "X", "events": [{"code": "LL001"}]},
        {"tracking_number": "X", "events": [{"code": None, "occurred_at": ON_NEW_YEAR}]},
        {"tracking_number": "X", "events": [{"code": True, "occurred_at": ON_NEW_YEAR}]},
        {"tracking_number": "X", "events": [{"code": "A", "occurred_at": "yesterday"}]},
        {
            "tracking_number": "X",
            "events": [{"code": "A", "occurred_at": ON_NEW_YEAR, "location": 3}],
        },
    ],
)
def test_malformed_webhooks_raise_payload_error(document: object) -> None:
    with pytest.raises(PayloadError):
        seur.parse(json.dumps(document).encode(), {})
