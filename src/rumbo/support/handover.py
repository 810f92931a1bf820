"""A shopper's question to the assistant, answered and kept: the conversation it
belongs to, and the inquiry for a person when the assistant hands over.

The one path behind ``POST /api/v1/track/{code}/ask`` and the tracking page's chat
box. Its sentences live in the "assistant" gettext catalogue, extracted with:
  pybabel extract -k _ -o assistant.pot src/rumbo/assistant src/rumbo/support/handover.py
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.assistant.facts import ArrivalWindow
from rumbo.assistant.orders import facts_for
from rumbo.assistant.service import answer
from rumbo.models import Order, Shipment
from rumbo.routes.arrival import shipment_arrival
from rumbo.shared.i18n import translations
from rumbo.support.service import record_exchange


@dataclass(frozen=True, slots=True)
class AskOutcome:
    text: str
    intent: str
    confidence: float
    lang: str
    handover: bool
    conversation_id: int
    inquiry_id: int | None
    inquiry_opened: bool


def _arrival_window(session: Session, order: Order) -> ArrivalWindow | None:
    """The courier's window for this order, if it is on a planned route; like the page,
    told only to a verified visitor (it says when nobody is home)."""
    shipments = list(session.scalars(select(Shipment.id).where(Shipment.order_id == order.id)))
    arrival = shipment_arrival(session.connection(), shipments)
    return ArrivalWindow(arrival.start, arrival.end) if arrival else None


def ask(
    session: Session,
    order: Order,
    question: str,
    *,
    now: datetime,
    lang: str | None = None,
    verified: bool = False,
    conversation_id: int | None = None,
) -> AskOutcome:
    """Answer ``question`` about ``order`` and record the exchange.

    ``verified``: the visitor proved they own the order, the only case in which the
    answer may state personal details. ``conversation_id`` continues an earlier
    exchange about the same order (a 404 otherwise). On a handover the reply ends by
    telling the shopper the number of the inquiry opened for them.
    """
    window = _arrival_window(session, order) if verified else None
    reply = answer(question, facts_for(session, order, now, window), lang, verified)
    exchange_text = reply.text
    exchange = record_exchange(
        session,
        order,
        conversation_id=conversation_id,
        question=question,
        answer=reply.text,
        intent=reply.intent.value,
        confidence=round(reply.confidence, 3),
        lang=reply.lang,
        handover=reply.handover,
        subject=question,
        now=now,
    )
    inquiry = exchange.inquiry
    if reply.handover and inquiry is not None:
        exchange_text = (
            f"{reply.text} {inquiry_sentence(reply.lang, inquiry.id, exchange.inquiry_opened)}"
        )
        # The stored answer is the one the shopper read.
        exchange.answer_turn.text = exchange_text
        session.flush()
    return AskOutcome(
        text=exchange_text,
        intent=reply.intent.value,
        confidence=round(reply.confidence, 3),
        lang=reply.lang,
        handover=reply.handover,
        conversation_id=exchange.conversation.id,
        inquiry_id=inquiry.id if inquiry is not None else None,
        inquiry_opened=exchange.inquiry_opened,
    )


def inquiry_sentence(lang: str, inquiry_id: int, opened: bool) -> str:
    """Tells the shopper which inquiry now holds their request."""
    _ = translations(lang, domain="assistant").gettext
    if opened:
        return _("We opened request #{number} for you; the store's team will reply.").format(
            number=inquiry_id
        )
    return _("Your request #{number} is already with the store's team.").format(number=inquiry_id)
