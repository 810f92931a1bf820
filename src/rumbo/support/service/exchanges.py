"""The assistant's side: one question and answer recorded, and the inquiry it hands over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.assistant.intents import Intent
from rumbo.models import Conversation, ConversationTurn, Inquiry, Order
from rumbo.support.service.conversations import add_turn, conversation_of_order, start_conversation
from rumbo.support.service.inquiries import create_inquiry
from rumbo.support.service.rules import SUBJECT_MAX, InquiryType, _move

# The inquiry an assistant handover opens, by what the shopper was asking about.
INQUIRY_TYPE_FOR_INTENT: Final[dict[Intent, InquiryType]] = {
    Intent.WHERE_IS_ORDER: "where_is_it",
    Intent.CARRIER_TRACKING: "where_is_it",
    Intent.DELIVERY_DATE: "delay",
    Intent.WHY_LATE: "delay",
    Intent.DELIVERY_FAILED: "delay",
    Intent.CHANGE_ADDRESS: "address_change",
    Intent.RETURN_EXCHANGE: "return",
}


@dataclass(frozen=True, slots=True)
class Exchange:
    """What one recorded question-and-answer did: the conversation it belongs to,
    and the inquiry of that conversation (``inquiry_opened``: opened by this one)."""

    conversation: Conversation
    answer_turn: ConversationTurn
    inquiry: Inquiry | None
    inquiry_opened: bool


def record_exchange(
    session: Session,
    order: Order,
    *,
    conversation_id: int | None,
    question: str,
    answer: str,
    intent: str,
    confidence: float,
    lang: str,
    handover: bool,
    subject: str,
    now: datetime,
) -> Exchange:
    """Record one shopper question and the assistant's answer about ``order``.

    Continues ``conversation_id`` (a 404 unless it is about this order) or starts a
    conversation. On ``handover`` the conversation gets its inquiry — opened once,
    typed from the intent; asked again, the same inquiry is returned (reopened if it
    was resolved). A shopper writing into a conversation whose inquiry awaits them
    (``waiting``) moves it back to ``open``.
    """
    if conversation_id is None:
        conversation = start_conversation(session, order.merchant_id, order.id, lang, now)
    else:
        conversation = conversation_of_order(session, order, conversation_id, lock=True)
    add_turn(session, conversation, "shopper", question, now)
    answer_turn = add_turn(
        session, conversation, "assistant", answer, now, intent=intent, confidence=confidence
    )
    inquiry = session.scalar(
        select(Inquiry).where(Inquiry.conversation_id == conversation.id).order_by(Inquiry.id)
    )
    opened = False
    if inquiry is None and handover:
        inquiry = _open_inquiry_of_order(session, order)
        if inquiry is not None and inquiry.conversation_id is not None:
            # One open inquiry per order from the shopper's side: a handover from
            # another conversation adds its question to that inquiry's conversation.
            held = session.get(Conversation, inquiry.conversation_id)
            if held is not None and held.id != conversation.id:
                add_turn(session, held, "shopper", question, now)
    if inquiry is None and handover:
        inquiry = create_inquiry(
            session,
            order.merchant_id,
            order_id=order.id,
            type=inquiry_type_for(intent),
            source="assistant",
            subject=_subject(subject),
            conversation_id=conversation.id,
            now=now,
        )
        opened = True
    elif inquiry is not None and (
        inquiry.status == "waiting" or (handover and inquiry.status == "resolved")
    ):
        _move(inquiry, "open", now)
    if handover and not conversation.handed_over:
        conversation.handed_over = True
    session.flush()
    return Exchange(conversation, answer_turn, inquiry, opened)


def _open_inquiry_of_order(session: Session, order: Order) -> Inquiry | None:
    """The order's unresolved inquiry opened by the assistant, if any. The order row is
    locked first so two handovers at once cannot both open one."""
    session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    return session.scalar(
        select(Inquiry)
        .where(
            Inquiry.order_id == order.id,
            Inquiry.source == "assistant",
            Inquiry.status != "resolved",
        )
        .order_by(Inquiry.id)
        .limit(1)
    )


def inquiry_type_for(intent: str) -> InquiryType:
    """The inquiry type for an assistant intent (``other`` when nothing fits)."""
    try:
        return INQUIRY_TYPE_FOR_INTENT.get(Intent(intent), "other")
    except ValueError:
        return "other"


def _subject(question: str) -> str:
    flat = " ".join(question.split()) or "?"
    return flat if len(flat) <= SUBJECT_MAX else flat[: SUBJECT_MAX - 1] + "…"
