"""The chat box without JavaScript: a form post answered server-side, with the privacy gate."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.support.conftest import new_order


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_a_question_is_answered_in_the_page(client: TestClient, tenant: Tenant) -> None:
    code = new_order(client, tenant)["tracking_code"]
    page = client.get(f"/t/{code}?lang=pt-BR")
    assert 'id="chat-form"' in page.text
    token = _field(page.text, "form_token")
    answered = client.post(
        f"/t/{code}/ask?lang=pt-BR", data={"question": "cadê meu pedido?", "form_token": token}
    )
    assert answered.status_code == 200
    assert "cadê meu pedido?" in answered.text
    assert "chat-assistant" in answered.text
    conversation = _field(answered.text, "conversation_id")
    assert conversation.isdigit()
    handed = client.post(
        f"/t/{code}/ask?lang=pt-BR",
        data={
            "question": "quero falar com um atendente",
            "form_token": token,
            "conversation_id": conversation,
        },
    )
    assert "Abrimos a solicitação nº" in handed.text
    assert _field(handed.text, "conversation_id") == conversation
    listed = client.get("/api/v1/inquiries", headers=tenant.headers).json()["items"]
    assert [i["conversation_id"] for i in listed] == [int(conversation)]


def test_the_partial_is_the_exchange_alone(client: TestClient, tenant: Tenant) -> None:
    code = new_order(client, tenant)["tracking_code"]
    token = _field(client.get(f"/t/{code}").text, "form_token")
    partial = client.post(
        f"/t/{code}/ask?partial=1", data={"question": "where is my order?", "form_token": token}
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert partial.text.count("chat-turn") == 2
    assert partial.headers["x-rumbo-conversation"].isdigit()


def test_personal_details_only_after_verification(client: TestClient, tenant: Tenant) -> None:
    code = new_order(client, tenant)["tracking_code"]
    token = _field(client.get(f"/t/{code}").text, "form_token")
    question = {"question": "which address will it be delivered to?", "form_token": token}
    before = client.post(f"/t/{code}/ask?partial=1", data=question)
    assert "Paulista" not in before.text
    client.post(f"/t/{code}/verify", data={"answer": "01310-100", "form_token": token})
    after = client.post(f"/t/{code}/ask?partial=1", data=question)
    assert "Av. Paulista, 1000" in after.text


def test_forged_empty_and_foreign_posts_are_refused(client: TestClient, tenant: Tenant) -> None:
    code = new_order(client, tenant)["tracking_code"]
    token = _field(client.get(f"/t/{code}").text, "form_token")
    forged = client.post(f"/t/{code}/ask", data={"question": "oi", "form_token": "forged"})
    assert forged.status_code == 403
    foreign = client.post(
        f"/t/{code}/ask",
        data={"question": "oi", "form_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    empty = client.post(f"/t/{code}/ask?partial=1", data={"question": "  ", "form_token": token})
    assert empty.status_code == 422
    assert "chat-error" in empty.text
    assert client.get("/api/v1/inquiries", headers=tenant.headers).json()["items"] == []


def test_a_conversation_id_of_another_order_starts_a_new_one(
    client: TestClient, tenant: Tenant
) -> None:
    one, two = new_order(client, tenant), new_order(client, tenant)
    token_one = _field(client.get(f"/t/{one['tracking_code']}").text, "form_token")
    first = client.post(
        f"/t/{one['tracking_code']}/ask?partial=1",
        data={"question": "cadê?", "form_token": token_one},
    )
    theirs = first.headers["x-rumbo-conversation"]
    token_two = _field(client.get(f"/t/{two['tracking_code']}").text, "form_token")
    second = client.post(
        f"/t/{two['tracking_code']}/ask?partial=1",
        data={"question": "cadê?", "form_token": token_two, "conversation_id": theirs},
    )
    assert second.status_code == 200
    assert second.headers["x-rumbo-conversation"] != theirs
