"""Every question to the assistant is kept; a handover opens one inquiry per conversation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rumbo.db import Database
from rumbo.kit.ratelimit import SlidingWindow
from rumbo.models import ConversationTurn, Inquiry
from tests.conftest import NOW, Tenant
from tests.support.conftest import new_order

QUESTIONS = [
    "cadê meu pedido?",
    "quero falar com um atendente",
    "xq zlorp brindle?",
    "obrigado!",
    "quiero hablar con una persona",
    "when will it arrive?",
    "I want to return it",
]


def ask(client: TestClient, code: str, question: str, **extra: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/track/{code}/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_asking_for_a_person_opens_an_inquiry_with_the_conversation(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    first = ask(client, order["tracking_code"], "cadê meu pedido?")
    assert first["handover"] is False
    assert first["inquiry_id"] is None
    second = ask(
        client,
        order["tracking_code"],
        "quero falar com um atendente",
        conversation_id=first["conversation_id"],
    )
    assert second["handover"] is True
    assert second["inquiry_opened"] is True
    assert second["conversation_id"] == first["conversation_id"]
    assert f"nº {second['inquiry_id']} " in second["answer"]
    assert "equipe da loja" in second["answer"]
    inquiry = client.get(f"/api/v1/inquiries/{second['inquiry_id']}", headers=tenant.headers).json()
    assert (inquiry["source"], inquiry["status"], inquiry["order_id"]) == (
        "assistant",
        "open",
        order["id"],
    )
    turns = inquiry["conversation"]["turns"]
    assert [t["role"] for t in turns] == ["shopper", "assistant"] * 2
    assert turns[1]["intent"] == "where_is_order"
    assert turns[3]["text"] == second["answer"]  # what the shopper read is what is kept
    assert inquiry["conversation"]["handed_over"] is True


def test_a_conversation_of_another_order_is_not_found(client: TestClient, tenant: Tenant) -> None:
    one, two = new_order(client, tenant), new_order(client, tenant)
    first = ask(client, one["tracking_code"], "cadê meu pedido?")
    response = client.post(
        f"/api/v1/track/{two['tracking_code']}/ask",
        json={"question": "e agora?", "conversation_id": first["conversation_id"]},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"
    bad = client.post(
        f"/api/v1/track/{two['tracking_code']}/ask",
        json={"question": "e agora?", "conversation_id": "abc"},
    )
    assert bad.status_code == 422


def test_the_intent_decides_the_inquiry_type(client: TestClient, tenant: Tenant) -> None:
    from rumbo.support.service import inquiry_type_for

    assert inquiry_type_for("where_is_order") == "where_is_it"
    assert inquiry_type_for("why_late") == "delay"
    assert inquiry_type_for("change_address") == "address_change"
    assert inquiry_type_for("return_exchange") == "return"
    assert inquiry_type_for("cancel_order") == "other"
    assert inquiry_type_for("human_agent") == "other"
    assert inquiry_type_for("not-an-intent") == "other"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(questions=st.lists(st.sampled_from(QUESTIONS), min_size=1, max_size=6))
def test_any_sequence_of_questions_opens_at_most_one_inquiry(
    client: TestClient, db: Database, tenant: Tenant, questions: list[str]
) -> None:
    # Many examples from one test client: the per-address question limit is not the subject.
    client.app.state.question_limit = SlidingWindow(10_000, 60)  # type: ignore[attr-defined]
    order = new_order(client, tenant)
    conversation_id: int | None = None
    answers = []
    for question in questions:
        extra = {"conversation_id": conversation_id} if conversation_id else {}
        body = ask(client, order["tracking_code"], question, **extra)
        conversation_id = conversation_id or body["conversation_id"]
        assert body["conversation_id"] == conversation_id
        answers.append(body)
    with db.session(write=False) as session:
        inquiries = list(session.scalars(select(Inquiry).where(Inquiry.order_id == order["id"])))
        turns = list(
            session.scalars(
                select(ConversationTurn).where(ConversationTurn.conversation_id == conversation_id)
            )
        )
    handed = [a for a in answers if a["handover"]]
    assert len(inquiries) == (1 if handed else 0)
    assert sum(a["inquiry_opened"] for a in answers) == len(inquiries)
    assert len(turns) == 2 * len(questions)
    if handed:
        assert {a["inquiry_id"] for a in handed} == {inquiries[0].id}
        first = next(i for i, a in enumerate(answers) if a["handover"])
        assert answers[first]["inquiry_opened"] is True
        assert all(a["inquiry_id"] is None for a in answers[:first])


def test_the_demo_store_leaves_conversations_and_an_inquiry(
    client: TestClient, tenant: Tenant
) -> None:
    from rumbo.demo.store import DemoStore

    store = DemoStore(client, tenant.api_key, seed=3, orders_per_minute=0)
    store.seed_orders(4, NOW, real_now=0.0)
    inquiries = client.get("/api/v1/inquiries", headers=tenant.headers).json()["items"]
    assert [(i["source"], i["status"]) for i in inquiries] == [("assistant", "open")]
    detail = client.get(f"/api/v1/inquiries/{inquiries[0]['id']}", headers=tenant.headers).json()
    assert [t["role"] for t in detail["conversation"]["turns"]] == ["shopper", "assistant"] * 2
