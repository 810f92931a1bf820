"""Correios (Brazil): the mapping table against the real code list, and real SRO responses."""

from __future__ import annotations

import csv
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rumbo.carriers.base import PayloadError
from rumbo.carriers.correios import (
    CORREIOS_EVENTS,
    CORREIOS_PREFIXES,
    CorreiosAdapter,
    correios_status,
    parse_object_code,
    parse_sro_response,
)
from rumbo.events.status import Status, StatusKey, latest


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


RETURN_SEQUENCE = "cassette_test_get_tracking_code_events#0"


def sro_body(*events: str, number: str = "AA123456789BR") -> bytes:
    """A minimal SRO response shaped like the recorded ones."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv='
        '"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ns2:buscaEventosListaResponse'
        ' xmlns:ns2="http://resource.webservice.correios.com.br/"><return><versao>2.0</versao>'
        f"<qtd>1</qtd><objeto><numero>{number}</numero>{''.join(events)}</objeto></return>"
        "</ns2:buscaEventosListaResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def evento(tipo: str, status: str, data: str, hora: str, extra: str = "") -> str:
    return (
        f"<evento><tipo>{tipo}</tipo><status>{status}</status><data>{data}</data>"
        f"<hora>{hora}</hora><descricao>x</descricao>{extra}</evento>"
    )


# --- the table covers every real code ----------------------------------------------------


def test_every_tracking_status_row_is_mapped_or_deliberately_informational(
    correios_dir: Path,
) -> None:
    rows = read_csv(correios_dir / "tracking_status.csv")
    assert len(rows) == 378
    missing = [
        (r["event_type"], r["status"])
        for r in rows
        if (r["event_type"], int(r["status"])) not in CORREIOS_EVENTS
    ]
    assert missing == []
    for row in rows:
        status, text = CORREIOS_EVENTS[(row["event_type"], int(row["status"]))]
        assert status is None or isinstance(status, Status)
        assert text  # the table carries Correios' own wording


def test_table_holds_no_code_outside_the_published_list(correios_dir: Path) -> None:
    rows = {
        (r["event_type"], int(r["status"])) for r in read_csv(correios_dir / "tracking_status.csv")
    }
    assert set(CORREIOS_EVENTS) == rows


def test_every_event_type_in_the_table_is_a_documented_type(correios_dir: Path) -> None:
    import json

    documented = json.loads((correios_dir / "tracking_event_types.json").read_text("utf-8"))
    assert {event_type for event_type, _ in CORREIOS_EVENTS} <= set(documented)


def test_categories_that_are_unambiguous_keep_their_meaning(correios_dir: Path) -> None:
    # olist's category column is coarse, but these categories only ever mean one thing.
    expected: dict[str, set[Status | None]] = {
        "customs_control": {Status.EXCEPTION, Status.IN_TRANSIT, None},  # None: payment notes
        "lost": {Status.EXCEPTION},
        "damaged": {Status.EXCEPTION, None},
        "returning_to_sender": {Status.EXCEPTION, Status.RETURNED},
        "ignore_last_entry": {None},
    }
    for row in read_csv(correios_dir / "tracking_status.csv"):
        if row["category"] in expected:
            status = correios_status(row["event_type"], int(row["status"]))
            assert status in expected[row["category"]], row


@pytest.mark.parametrize(
    ("event_type", "number", "expected"),
    [
        ("BDE", 0, Status.DELIVERED),
        ("BDE", 1, Status.DELIVERED),
        ("BDI", 1, Status.DELIVERED),
        ("BDR", 70, Status.DELIVERED),
        ("BDE", 2, Status.DELIVERY_FAILED),
        ("BDE", 20, Status.DELIVERY_FAILED),
        ("BDE", 21, Status.DELIVERY_FAILED),
        ("BDE", 7, Status.EXCEPTION),  # wrong address
        ("BDE", 10, Status.EXCEPTION),  # moved away
        ("BDE", 4, Status.EXCEPTION),  # refused: goes back
        ("BDE", 23, Status.RETURNED),
        ("BDE", 24, Status.AVAILABLE_FOR_PICKUP),
        ("LDI", 1, Status.AVAILABLE_FOR_PICKUP),
        ("BDE", 28, Status.EXCEPTION),  # damaged
        ("BDE", 80, Status.EXCEPTION),  # lost
        ("BDE", 62, Status.EXCEPTION),  # returning to sender is not yet returned
        ("PO", 0, Status.SHIPPED),
        ("PO", 9, Status.SHIPPED),
        ("RO", 1, Status.IN_TRANSIT),
        ("DO", 1, Status.IN_TRANSIT),
        ("OEC", 1, Status.OUT_FOR_DELIVERY),
        ("OEC", 9, Status.EXCEPTION),  # out for delivery *to the sender*
        ("PAR", 15, Status.IN_TRANSIT),  # arrived in the destination country, not delivered
        ("PAR", 13, Status.RETURNED),
        ("CO", 9, Status.CANCELLED),
        ("EST", 1, None),  # "disregard the previous information"
        ("ERROR", 0, None),
    ],
)
def test_sro_code_maps_to(event_type: str, number: int, expected: Status | None) -> None:
    assert correios_status(event_type, number) is expected


def test_an_unknown_code_is_informational() -> None:
    assert correios_status("XYZ", 1) is None
    assert correios_status("BDE", 999) is None


# --- real SRO responses -------------------------------------------------------------------


def test_every_recorded_response_parses(sro_responses: dict[str, bytes]) -> None:
    assert len(sro_responses) == 4
    for body in sro_responses.values():
        for obj in parse_sro_response(body):
            assert obj.tracking_number.endswith("BR")
            assert all(e.occurred_at.tzinfo is UTC for e in obj.events)


def test_attempt_fail_return_sequence_ends_returned(sro_responses: dict[str, bytes]) -> None:
    events = CorreiosAdapter().parse(sro_responses[RETURN_SEQUENCE], {})
    assert len(events) == 11
    chronological = [e.status for e in sorted(events, key=lambda e: e.occurred_at)]
    assert chronological == [
        Status.SHIPPED,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_FAILED,
        Status.DELIVERY_FAILED,
        Status.IN_TRANSIT,
        Status.EXCEPTION,
        Status.RETURNED,
    ]
    keys = [
        StatusKey.of(e.status, e.occurred_at, e.carrier, e.event_id) for e in events if e.status
    ]
    winner = latest(keys)
    assert winner is not None
    assert winner.status is Status.RETURNED


def test_brasilia_local_time_becomes_utc(sro_responses: dict[str, bytes]) -> None:
    events = CorreiosAdapter().parse(sro_responses[RETURN_SEQUENCE], {})
    returned = next(e for e in events if e.code == "BDE-23")
    # 23/07/2018 09:48 in São Paulo (UTC-3, no daylight saving in July)
    assert returned.occurred_at == datetime(2018, 7, 23, 12, 48, tzinfo=UTC)
    assert returned.location is not None
    assert (returned.location.city, returned.location.state) == ("GUARULHOS", "SP")
    assert returned.text == "Objeto devolvido ao remetente"
    assert returned.raw["tipo"] == "BDE"


def test_daylight_saving_of_the_day_is_applied() -> None:
    # Brazil observed DST until 2019: 15/01/2019 10:00 was UTC-2.
    (event,) = CorreiosAdapter().parse(sro_body(evento("PO", "01", "15/01/2019", "10:00")), {})
    assert event.occurred_at == datetime(2019, 1, 15, 12, 0, tzinfo=UTC)


def test_forwarding_names_the_destination_and_detail_is_kept(
    sro_responses: dict[str, bytes],
) -> None:
    events = CorreiosAdapter().parse(sro_responses[RETURN_SEQUENCE], {})
    forwarded = next(e for e in events if e.code == "RO-01")
    assert forwarded.text == "Objeto encaminhado para CTCE VILA MARIA"
    assert isinstance(forwarded.raw["destino"], dict)
    failed = next(e for e in events if e.code == "BDE-21")
    assert failed.text.endswith("Objeto será devolvido ao remetente")


def test_two_objects_in_one_response(sro_responses: dict[str, bytes]) -> None:
    objects = parse_sro_response(sro_responses["cassette_test_get_tracking_codes_events#0"])
    assert [o.tracking_number for o in objects] == ["BE058714266BR", "JT365572014BR"]
    assert [len(o.events) for o in objects] == [11, 1]


def test_object_not_found_gives_no_event_and_keeps_the_error(
    sro_responses: dict[str, bytes],
) -> None:
    body = sro_responses["cassette_test_get_tracking_code_object_not_found_by_correios#0"]
    (obj,) = parse_sro_response(body)
    assert not obj.found
    assert obj.error is not None
    assert "não encontrado" in obj.error
    assert CorreiosAdapter().parse(body, {}) == []


def test_event_without_city_keeps_the_state() -> None:
    body = sro_body(evento("OEC", "01", "12/07/2018", "11:24", "<local>CDD X</local><uf>SP</uf>"))
    (event,) = CorreiosAdapter().parse(body, {})
    assert event.location is not None
    assert event.location.city is None
    assert event.location.state == "SP"


def test_same_events_in_any_order_and_twice_give_the_same_set(
    sro_responses: dict[str, bytes],
) -> None:
    body = sro_responses[RETURN_SEQUENCE]
    reference = set(CorreiosAdapter().parse(body, {}))
    root = ET.fromstring(body)
    objeto = next(el for el in root.iter() if el.tag == "objeto")
    eventos = [el for el in objeto if el.tag == "evento"]
    rng = random.Random(5)
    for _ in range(20):
        for el in eventos:
            objeto.remove(el)
        shuffled = eventos + rng.sample(eventos, k=rng.randint(0, len(eventos)))
        rng.shuffle(shuffled)
        for el in shuffled:
            objeto.append(el)
        events = CorreiosAdapter().parse(ET.tostring(root), {})
        assert set(events) == reference
        assert {e.event_id for e in events} == {e.event_id for e in reference}


def test_event_ids_are_stable_across_responses(sro_responses: dict[str, bytes]) -> None:
    single = CorreiosAdapter().parse(sro_responses[RETURN_SEQUENCE], {})
    multi = CorreiosAdapter().parse(sro_responses["cassette_test_get_tracking_codes_events#0"], {})
    assert {e.event_id for e in single} <= {e.event_id for e in multi}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<a><b></a>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        b"<Envelope><Body><Fault><faultstring>boom</faultstring></Fault></Body></Envelope>",
        b"<Envelope><Body/></Envelope>",
        sro_body(evento("BDE", "xx", "23/07/2018", "09:48")),
        sro_body(evento("BDE", "01", "31/02/2018", "09:48")),
        sro_body("<evento><tipo>BDE</tipo></evento>"),
        sro_body(number=""),
    ],
)
def test_malformed_responses_raise_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        CorreiosAdapter().parse(body, {})


# --- object codes ---------------------------------------------------------------------------


def test_every_published_prefix_is_known(correios_dir: Path) -> None:
    rows = read_csv(correios_dir / "tracking_prefix.csv")
    assert {r["prefix"]: r["description"] for r in rows} == CORREIOS_PREFIXES


def test_every_recorded_object_code_is_valid_s10(sro_responses: dict[str, bytes]) -> None:
    numbers = {
        o.tracking_number for body in sro_responses.values() for o in parse_sro_response(body)
    }
    assert len(numbers) == 4
    for number in numbers:
        code = parse_object_code(number)
        assert code is not None
        assert code.country == "BR"
    parsed = parse_object_code(" du 055087593 br ")
    assert parsed is not None
    assert parsed.service == "e-SEDEX"
    unlisted = parse_object_code("BE058714266BR")  # valid, but BE is not in the prefix list
    assert unlisted is not None
    assert unlisted.service is None


@pytest.mark.parametrize(
    "text", ["BE058714265BR", "BE05871426BR", "1E058714266BR", "", "BE0587142666BR"]
)
def test_invalid_object_codes(text: str) -> None:
    assert parse_object_code(text) is None


def test_deeply_nested_evento_is_a_payload_error() -> None:
    nested = "<a>" * 2000 + "x" + "</a>" * 2000
    with pytest.raises(PayloadError):
        CorreiosAdapter().parse(sro_body(evento("PO", "01", "01/01/2020", "10:00", nested)), {})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/sro.dtd">',
    ],
)
def test_a_dtd_in_any_encoding_is_refused(encoding: str, doctype: str) -> None:
    """The old byte check looked for ASCII ``<!DOCTYPE``; in UTF-16 the bytes differ."""
    text = (
        f'<?xml version="1.0" encoding="UTF-16"?>{doctype}'
        "<Envelope><Body><return><objeto><numero>&b;</numero></objeto></return></Body></Envelope>"
    )
    body = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        body = "\ufeff".encode(encoding) + body
    assert b"<!DOCTYPE" not in body.upper()
    with pytest.raises(PayloadError, match="DTD"):
        CorreiosAdapter().parse(body, {})
