"""The support service on SQLite and PostgreSQL: inquiries' life, replies, notes, scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.models import ConversationTurn, Inquiry
from rumbo.support import service
from tests.conftest import NOW, Tenant
from tests.support.conftest import new_order, new_staff

LATER = NOW + timedelta(hours=2)


def _open(db: Database, tenant: Tenant, order_id: int | None, **extra: object) -> int:
    with db.session() as session:
        inquiry = service.create_inquiry(
            session,
            tenant.merchant_id,
            order_id=order_id,
            type="damaged",
            source="agent",
            subject="  Caixa amassada ",
            message="Chegou amassada.",
            now=NOW,
            **extra,  # type: ignore[arg-type]
        )
        return inquiry.id


def test_an_inquiry_opens_with_its_first_message_in_a_conversation(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    inquiry_id = _open(db, tenant, order["id"], contact_email=" Ana@Example.com ")
    with db.session() as session:
        inquiry = service.get_inquiry(session, tenant.merchant_id, inquiry_id)
        assert (inquiry.status, inquiry.type, inquiry.source) == ("open", "damaged", "agent")
        assert inquiry.subject == "Caixa amassada"
        assert inquiry.contact_email == "ana@example.com"
        assert inquiry.conversation_id is not None
        view = service.get_conversation(session, tenant.merchant_id, inquiry.conversation_id)
        assert [(t.role, t.text) for t in view.turns] == [("shopper", "Chegou amassada.")]
        assert view.conversation.lang == "pt-BR"  # the order's customer locale
        assert view.inquiry_id == inquiry_id


def test_first_reply_sets_first_response_once_and_moves_open_to_waiting(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    agent = new_staff(db, tenant)
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        turn = service.reply(
            session,
            tenant.merchant_id,
            inquiry_id,
            text="Vamos trocar.",
            author_id=agent,
            now=LATER,
        )
        assert (turn.role, turn.author_id) == ("agent", agent)
    with db.session() as session:
        service.reply(
            session, tenant.merchant_id, inquiry_id, text="Já saiu.", now=LATER + timedelta(hours=5)
        )
        inquiry = service.get_inquiry(session, tenant.merchant_id, inquiry_id)
        assert inquiry.first_response_at == LATER
        assert inquiry.status == "waiting"


def test_life_cycle_sets_and_clears_resolved_at(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        service.update_inquiry(session, tenant.merchant_id, inquiry_id, status="waiting", now=NOW)
        resolved = service.update_inquiry(
            session, tenant.merchant_id, inquiry_id, status="resolved", now=LATER
        )
        assert resolved.resolved_at == LATER
        reopened = service.update_inquiry(
            session, tenant.merchant_id, inquiry_id, status="open", now=LATER
        )
        assert (reopened.status, reopened.resolved_at) == ("open", None)


def test_a_move_the_life_cycle_forbids_changes_nothing(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    agent = new_staff(db, tenant)
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        service.update_inquiry(session, tenant.merchant_id, inquiry_id, status="resolved", now=NOW)
    with pytest.raises(Conflict) as refused, db.session() as session:
        service.update_inquiry(
            session,
            tenant.merchant_id,
            inquiry_id,
            status="waiting",
            assignee_id=agent,
            type="delay",
            now=LATER,
        )
    assert refused.value.code == "invalid_transition"
    with db.session() as session:
        inquiry = service.get_inquiry(session, tenant.merchant_id, inquiry_id)
        assert (inquiry.status, inquiry.assignee_id, inquiry.type) == ("resolved", None, "damaged")


def test_assign_and_unassign(client: TestClient, db: Database, tenant: Tenant) -> None:
    order = new_order(client, tenant)
    agent = new_staff(db, tenant)
    retired = new_staff(db, tenant, "Caio", active=False)
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        assigned = service.update_inquiry(
            session, tenant.merchant_id, inquiry_id, assignee_id=agent, now=NOW
        )
        assert assigned.assignee_id == agent
        mine, _ = service.list_inquiries(session, tenant.merchant_id, assignee_id=agent)
        assert [i.id for i in mine] == [inquiry_id]
        cleared = service.update_inquiry(
            session, tenant.merchant_id, inquiry_id, assignee_id=None, now=NOW
        )
        assert cleared.assignee_id is None
    with pytest.raises(Conflict), db.session() as session:
        service.update_inquiry(
            session, tenant.merchant_id, inquiry_id, assignee_id=retired, now=NOW
        )


def test_another_merchants_ids_are_not_found(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    theirs = new_order(client, other_tenant)
    their_agent = new_staff(db, other_tenant, "Eva")
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        for call in (
            lambda: service.get_inquiry(session, other_tenant.merchant_id, inquiry_id),
            lambda: service.reply(session, other_tenant.merchant_id, inquiry_id, text="x", now=NOW),
            lambda: service.update_inquiry(
                session, tenant.merchant_id, inquiry_id, assignee_id=their_agent, now=NOW
            ),
            lambda: service.add_note(session, tenant.merchant_id, theirs["id"], text="x", now=NOW),
            lambda: service.notes_for_order(session, tenant.merchant_id, theirs["id"]),
            lambda: service.conversations_for_order(session, tenant.merchant_id, theirs["id"]),
            lambda: service.create_inquiry(
                session,
                tenant.merchant_id,
                order_id=theirs["id"],
                type="other",
                source="api",
                subject="x",
                now=NOW,
            ),
        ):
            with pytest.raises(NotFound):
                call()
        listed, _ = service.list_inquiries(session, other_tenant.merchant_id)
        assert listed == []


def test_notes_belong_to_the_order_and_its_inquiries(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    other = new_order(client, tenant)
    agent = new_staff(db, tenant)
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        service.add_note(session, tenant.merchant_id, order["id"], text="Ligou", now=NOW)
        service.add_note(
            session,
            tenant.merchant_id,
            order["id"],
            text="Troca aprovada",
            author_id=agent,
            inquiry_id=inquiry_id,
            now=LATER,
        )
        with pytest.raises(RumboError):
            service.add_note(
                session, tenant.merchant_id, other["id"], text="x", inquiry_id=inquiry_id, now=NOW
            )
        with pytest.raises(RumboError):
            service.add_note(session, tenant.merchant_id, order["id"], text="   ", now=NOW)
    with db.session() as session:
        notes = service.notes_for_order(session, tenant.merchant_id, order["id"])
        assert [(n.text, n.author_id, n.inquiry_id) for n in notes] == [
            ("Ligou", None, None),
            ("Troca aprovada", agent, inquiry_id),
        ]


def test_list_filters_and_pages_newest_first(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    ids = [_open(db, tenant, order["id"]) for _ in range(5)]
    loose = _open(db, tenant, None)
    with db.session() as session:
        service.update_inquiry(session, tenant.merchant_id, ids[0], status="resolved", now=NOW)
        service.update_inquiry(session, tenant.merchant_id, ids[1], type="delay", now=NOW)
    with db.session() as session:
        first, cursor = service.list_inquiries(session, tenant.merchant_id, limit=4)
        assert cursor is not None
        rest, end = service.list_inquiries(session, tenant.merchant_id, cursor=cursor, limit=4)
        assert end is None
        assert [i.id for i in first + rest] == sorted([*ids, loose], reverse=True)
        queue, _ = service.list_inquiries(
            session, tenant.merchant_id, status=["open", "waiting"], order_id=order["id"]
        )
        assert {i.id for i in queue} == set(ids[1:])
        delays, _ = service.list_inquiries(session, tenant.merchant_id, type="delay")
        assert [i.id for i in delays] == [ids[1]]


def test_one_conversation_holds_one_inquiry(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    inquiry_id = _open(db, tenant, order["id"])
    with db.session() as session:
        conversation_id = service.get_inquiry(
            session, tenant.merchant_id, inquiry_id
        ).conversation_id
    with pytest.raises(Conflict), db.session() as session:
        service.create_inquiry(
            session,
            tenant.merchant_id,
            order_id=order["id"],
            type="other",
            source="agent",
            subject="again",
            conversation_id=conversation_id,
            now=NOW,
        )
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(Inquiry))
        turns = session.scalar(select(func.count()).select_from(ConversationTurn))
        assert (count, turns) == (1, 1)
