"""The assistant's handover is no spam channel: one open inquiry per order from the
shopper's side, later handovers add to it, and questions per code are limited."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.kit.ratelimit import SlidingWindow
from rumbo.models import ConversationTurn, Inquiry
from tests.conftest import Tenant, make_tenant
from tests.support.conftest import new_order
from tests.support.test_handover import ask

PERSON = "quero falar com um atendente"


def test_handovers_from_many_conversations_share_one_open_inquiry(
    app: FastAPI, client: TestClient, db: Database, tenant: Tenant
) -> None:
    app.state.question_limit = SlidingWindow(10_000, 60)
    order = new_order(client, tenant)
    answers = [ask(client, order["tracking_code"], f"{PERSON} ({n})") for n in range(35)]
    assert len({a["conversation_id"] for a in answers}) == 35
    assert all(a["handover"] for a in answers)
    assert [a["inquiry_opened"] for a in answers] == [True] + [False] * 34
    with db.session(write=False) as session:
        [inquiry] = session.scalars(select(Inquiry).where(Inquiry.order_id == order["id"]))
        held = list(
            session.scalars(
                select(ConversationTurn.text)
                .where(
                    ConversationTurn.conversation_id == inquiry.conversation_id,
                    ConversationTurn.role == "shopper",
                )
                .order_by(ConversationTurn.id)
            )
        )
    assert {a["inquiry_id"] for a in answers} == {inquiry.id}
    # The later questions reach the staff in the one inquiry's conversation.
    assert [f"{PERSON} ({n})" for n in range(35)] == held


def test_a_resolved_inquiry_lets_a_later_handover_open_a_new_one(
    app: FastAPI, client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    first = ask(client, order["tracking_code"], PERSON)
    resolved = client.patch(
        f"/api/v1/inquiries/{first['inquiry_id']}",
        json={"status": "resolved"},
        headers=tenant.headers,
    )
    assert resolved.status_code < 300, resolved.text
    later = ask(client, order["tracking_code"], PERSON)
    assert later["inquiry_opened"] is True
    assert later["inquiry_id"] != first["inquiry_id"]


def test_questions_about_one_code_are_limited_from_every_client(
    settings: Settings, clock: FixedClock
) -> None:
    app = create_app(settings.model_copy(update={"limit_questions_per_code": 5}), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        tenant = make_tenant(app.state.db, "Loja Aurora")
        code = new_order(client, tenant)["tracking_code"]
        statuses = []
        for n in range(7):
            other = TestClient(app, client=(f"198.51.100.{n + 1}", 4000))
            answer = other.post(f"/api/v1/track/{code}/ask", json={"question": PERSON})
            statuses.append(answer.status_code)
        assert statuses == [200] * 5 + [429, 429]
        assert int(answer.headers["Retry-After"]) > 0
        other_code = new_order(client, tenant)["tracking_code"]
        assert (
            client.post(f"/api/v1/track/{other_code}/ask", json={"question": PERSON}).status_code
            == 200
        )
