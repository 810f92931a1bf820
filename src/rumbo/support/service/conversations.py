"""Conversations between a shopper and the assistant or an agent, turn by turn."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.errors import NotFound
from rumbo.models import Conversation, ConversationTurn, Inquiry, Order
from rumbo.models.support import TURN_ROLES
from rumbo.shared.i18n import DEFAULT_LANGUAGE, normalize_language
from rumbo.support.service.lookups import _owned, order_of
from rumbo.support.service.rules import TurnRole, _check_choice


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation with its turns (oldest first) and the inquiry it opened, if any."""

    conversation: Conversation
    turns: list[ConversationTurn] = field(default_factory=list)
    inquiry_id: int | None = None


def get_conversation(session: Session, merchant_id: int, conversation_id: int) -> ConversationView:
    """The merchant's conversation with its turns and inquiry, or a 404."""
    conversation = _owned(
        session,
        Conversation,
        conversation_id,
        merchant_id,
        "conversation",
        "conversation_not_found",
    )
    return _views(session, [conversation])[0]


def conversations_for_order(
    session: Session, merchant_id: int, order_id: int
) -> list[ConversationView]:
    """The order's conversations, oldest first, each with its turns and inquiry id."""
    order_of(session, merchant_id, order_id)
    conversations = list(
        session.scalars(
            select(Conversation)
            .where(Conversation.merchant_id == merchant_id, Conversation.order_id == order_id)
            .order_by(Conversation.id)
        )
    )
    return _views(session, conversations)


def _views(session: Session, conversations: Sequence[Conversation]) -> list[ConversationView]:
    ids = [c.id for c in conversations]
    turns: dict[int, list[ConversationTurn]] = defaultdict(list)
    inquiries: dict[int, int] = {}
    if ids:
        for turn in session.scalars(
            select(ConversationTurn)
            .where(ConversationTurn.conversation_id.in_(ids))
            .order_by(ConversationTurn.id)
        ):
            turns[turn.conversation_id].append(turn)
        for inquiry_id, conversation_id in session.execute(
            select(Inquiry.id, Inquiry.conversation_id)
            .where(Inquiry.conversation_id.in_(ids))
            .order_by(Inquiry.id.desc())
        ):
            if conversation_id is not None:
                inquiries[conversation_id] = inquiry_id
    return [ConversationView(c, turns[c.id], inquiries.get(c.id)) for c in conversations]


def start_conversation(
    session: Session, merchant_id: int, order_id: int | None, lang: str | None, now: datetime
) -> Conversation:
    """A new, empty conversation about the order (``lang``: "pt-BR", "es" or "en")."""
    conversation = Conversation(
        merchant_id=merchant_id,
        order_id=order_id,
        lang=normalize_language(lang) or DEFAULT_LANGUAGE,
        handed_over=False,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def conversation_of_order(
    session: Session, order: Order, conversation_id: int, *, lock: bool = False
) -> Conversation:
    """The conversation ``conversation_id`` if it is about ``order``, else a 404.

    ``lock`` takes the row lock that serialises the exchanges of one conversation.
    """
    stmt = select(Conversation).where(
        Conversation.id == conversation_id,
        Conversation.merchant_id == order.merchant_id,
        Conversation.order_id == order.id,
    )
    if lock:
        stmt = stmt.with_for_update()
    conversation = session.scalar(stmt)
    if conversation is None:
        raise NotFound("No conversation with this id for this order.", "conversation_not_found")
    return conversation


def add_turn(
    session: Session,
    conversation: Conversation,
    role: TurnRole,
    text: str,
    now: datetime,
    *,
    intent: str | None = None,
    confidence: float | None = None,
    author_id: int | None = None,
) -> ConversationTurn:
    """Append one message to the conversation."""
    _check_choice(role, TURN_ROLES, "role")
    turn = ConversationTurn(
        conversation_id=conversation.id,
        role=role,
        text=text,
        intent=intent,
        confidence=confidence,
        author_id=author_id,
        created_at=now,
    )
    session.add(turn)
    conversation.updated_at = now
    session.flush()
    return turn
