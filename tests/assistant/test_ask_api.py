"""The assistant over HTTP: answers from the order's real data, in the shopper's language."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.factories import event_body, order_body


def shipped_order(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": "PN123123123BR"},
        headers=tenant.headers,
    )
    client.post(
        "/api/v1/events",
        json=event_body(
            None,
            carrier="correios",
            tracking_number="PN123123123BR",
            status="in_transit",
            occurred_at="2026-11-21T09:00:00-03:00",
        ),
        headers=tenant.headers,
    )
    return order  # type: ignore[no-any-return]


def ask(client: TestClient, code: str, question: str, **extra: Any) -> Any:
    return client.post(f"/api/v1/track/{code}/ask", json={"question": question, **extra})


def test_where_is_my_order_is_answered_from_the_timeline(
    client: TestClient, tenant: Tenant
) -> None:
    order = shipped_order(client, tenant)
    response = ask(client, order["tracking_code"], "cade meu pedido??")
    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == "where_is_order"
    assert body["lang"] == "pt-BR"
    assert "Curitiba" in body["answer"]
    assert body["handover"] is False


def test_carrier_question_names_the_real_carrier_and_number(
    client: TestClient, tenant: Tenant
) -> None:
    order = shipped_order(client, tenant)
    body = ask(
        client,
        order["tracking_code"],
        "¿con qué transportadora viene y cuál es el número de seguimiento?",
    ).json()
    assert body["lang"] == "es"
    assert "PN123123123BR" in body["answer"]


def test_personal_details_only_after_verification(client: TestClient, tenant: Tenant) -> None:
    order = shipped_order(client, tenant)
    code = order["tracking_code"]
    question = "which address will it be delivered to?"
    assert "Paulista" not in ask(client, code, question).json()["answer"]
    token = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "01310-100"}).json()[
        "token"
    ]
    verified = client.post(
        f"/api/v1/track/{code}/ask",
        json={"question": question},
        headers={"X-Tracking-Token": token},
    ).json()
    assert verified["lang"] == "en"
    assert "Av. Paulista, 1000" in verified["answer"]


def test_asking_for_a_person_hands_over(client: TestClient, tenant: Tenant) -> None:
    order = shipped_order(client, tenant)
    body = ask(client, order["tracking_code"], "quero falar com um atendente humano").json()
    assert body["handover"] is True
    assert body["intent"] == "human_agent"


def test_bad_questions_are_4xx(client: TestClient, tenant: Tenant) -> None:
    order = shipped_order(client, tenant)
    code = order["tracking_code"]
    assert ask(client, code, "").status_code == 422
    assert ask(client, code, "x" * 1001).status_code == 422
    assert ask(client, code, "hola", lang="fr").status_code == 422
    assert client.post("/api/v1/track/NOPE/ask", json={"question": "hi"}).status_code == 404


def test_asking_too_fast_is_throttled_with_retry_after(client: TestClient, tenant: Tenant) -> None:
    order = shipped_order(client, tenant)
    answers = [
        ask(client, order["tracking_code"], "cade meu pedido").status_code for _ in range(31)
    ]
    assert answers[:30] == [200] * 30
    assert answers[30] == 429
    refused = ask(client, order["tracking_code"], "oi")
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
