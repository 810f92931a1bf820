"""Answers are built only from the order's facts, in the shopper's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from rumbo.assistant import (
    Answer,
    DeliveryPrediction,
    Intent,
    LastEvent,
    OrderFacts,
    ShipmentFacts,
    SupportContact,
    answer,
)
from rumbo.assistant.evaluation import SCENARIOS, unsupported_statements
from rumbo.events.status import Status

IN_TRANSIT = SCENARIOS["in_transit_with_prediction"]


def test_delivery_date_states_the_prediction_formatted_for_the_language() -> None:
    reply = answer("when will it arrive", IN_TRANSIT, lang="en")
    assert reply.intent is Intent.DELIVERY_DATE
    assert "November 25, 2026" in reply.text
    assert "between November 24, 2026 and November 26, 2026" in reply.text
    assert {"prediction.estimated", "promised_delivery_date"} <= reply.facts_used
    es = answer("cuando llega?", IN_TRANSIT, lang="es")
    assert "25 de noviembre de 2026" in es.text
    pt = answer("qdo chega", IN_TRANSIT, lang="pt-BR")
    assert "25 de novembro de 2026" in pt.text


def test_missing_prediction_is_said_not_invented() -> None:
    facts = replace(IN_TRANSIT, prediction=None, promised_delivery_date=None)
    reply = answer("when will it arrive", facts, lang="en")
    assert "no delivery prediction yet" in reply.text
    assert not any(name.startswith("prediction") for name in reply.facts_used)
    assert unsupported_statements(reply, facts, verified=False) == []


def test_missing_city_is_said_not_invented() -> None:
    facts = OrderFacts(
        status=Status.IN_TRANSIT,
        last_event=LastEvent("In transit", None, None, datetime(2026, 11, 20, 10, tzinfo=UTC)),
    )
    reply = answer("where is my order", facts, lang="en")
    assert "has not reported a city" in reply.text
    assert "last_event.city" not in reply.facts_used


def test_times_are_shown_in_the_destination_time_zone() -> None:
    facts = OrderFacts(
        status=Status.SHIPPED,
        status_changed_at=datetime(2026, 11, 21, 2, 30, tzinfo=UTC),
        destination_timezone="America/Sao_Paulo",
    )
    reply = answer("cade meu pedido", facts, lang="pt-BR")
    # 02:30 UTC is 23:30 of the previous day in São Paulo.
    assert "20 de novembro de 2026 às 23:30" in reply.text


def test_no_carrier_yet_is_said() -> None:
    reply = answer("what's the tracking number", SCENARIOS["no_carrier_yet"], lang="en")
    assert reply.intent is Intent.CARRIER_TRACKING
    assert "No carrier has been assigned" in reply.text
    assert reply.facts_used == frozenset()


def test_every_shipment_carrier_is_listed_for_a_split_order() -> None:
    reply = answer("qual o codigo de rastreio?", SCENARIOS["split_shipment"], lang="pt-BR")
    assert "Correios" in reply.text
    assert "QB555666777BR" in reply.text
    assert "Jadlog" in reply.text
    status = answer("cade meu pedido", SCENARIOS["split_shipment"], lang="pt-BR")
    assert "1 de 2 volumes" in status.text


def test_delivered_but_not_received_hands_over() -> None:
    reply = answer("o entregador nao veio", SCENARIOS["delivered"], lang="pt-BR")
    assert reply.intent is Intent.DELIVERY_FAILED
    assert reply.handover
    assert "18 de novembro de 2026" in reply.text


def test_asking_for_a_person_hands_over_with_the_store_contact() -> None:
    reply = answer("quiero hablar con una persona", SCENARIOS["failed_attempt"], lang="es")
    assert reply.intent is Intent.HUMAN_AGENT
    assert reply.handover
    assert "ajuda@loja.example" in reply.text
    assert "support.email" in reply.facts_used


def test_low_confidence_says_not_sure_and_hands_over() -> None:
    reply = answer("what is the capital of france", IN_TRANSIT, lang="en")
    assert reply.intent is Intent.UNKNOWN
    assert reply.handover
    assert "not sure" in reply.text


def test_language_falls_back_to_the_question_then_the_customer_locale() -> None:
    assert answer("¿dónde está mi pedido?", IN_TRANSIT).lang == "es"
    assert answer("where is my order?", IN_TRANSIT).lang == "en"
    assert answer("??", replace(IN_TRANSIT, customer_locale="pt-BR")).lang == "pt-BR"
    assert answer("??", replace(IN_TRANSIT, customer_locale=None)).lang == "en"


@pytest.mark.parametrize(
    "question",
    [
        "oi",
        "hola",
        "hello",
        "quero mudar o endereco",
        "can i change my address",
        "cambiar direccion",
    ],
)
def test_personal_data_appears_only_when_verified(question: str, scenario: OrderFacts) -> None:
    unverified = answer(question, scenario, verified=False)
    for pii in (scenario.customer_first_name, scenario.destination_address):
        if pii:
            assert pii not in unverified.text
    assert not {"customer_first_name", "destination_address"} & unverified.facts_used


def test_verified_shopper_is_greeted_by_name_and_sees_the_address() -> None:
    facts = SCENARIOS["delivered"]
    assert "Mariana" in answer("oi", facts, lang="pt-BR", verified=True).text
    change = answer("quero mudar o endereco de entrega", SCENARIOS["split_shipment"], verified=True)
    assert "Av. Boa Viagem 100, Recife" in change.text


def test_cancel_before_shipping_hands_over_and_after_shipping_explains() -> None:
    early = answer("quiero cancelar el pedido", SCENARIOS["no_carrier_yet"], lang="es")
    assert early.handover
    assert "aún se puede cancelar" in early.text
    late = answer("please cancel my order", IN_TRANSIT, lang="en")
    assert "already shipped" in late.text


def test_answer_carries_every_field() -> None:
    facts = OrderFacts(
        status=Status.OUT_FOR_DELIVERY,
        prediction=DeliveryPrediction(date(2026, 11, 23)),
        shipments=(ShipmentFacts("Loggi", "LG1"),),
        support=SupportContact(url="https://example.test/help"),
    )
    reply = answer("when will it arrive", facts, lang="en")
    assert isinstance(reply, Answer)
    assert reply.lang == "en"
    assert 0.0 <= reply.confidence <= 1.0
    assert not reply.handover
    assert reply.text
