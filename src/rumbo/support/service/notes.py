"""Staff notes on an order (optionally about one of its inquiries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.errors import RumboError
from rumbo.models import OrderNote
from rumbo.support.service.lookups import get_inquiry, order_of, staff_of
from rumbo.support.service.rules import TEXT_MAX, _clean


def add_note(
    session: Session,
    merchant_id: int,
    order_id: int,
    *,
    text: str,
    now: datetime,
    author_id: int | None = None,
    inquiry_id: int | None = None,
) -> OrderNote:
    """An internal note on the order (staff only), optionally tied to one of its inquiries."""
    order_of(session, merchant_id, order_id)
    cleaned = _clean(text, "note", TEXT_MAX)
    if author_id is not None:
        staff_of(session, merchant_id, author_id)
    if inquiry_id is not None:
        inquiry = get_inquiry(session, merchant_id, inquiry_id)
        if inquiry.order_id != order_id:
            raise RumboError("The inquiry is about another order.", 422, "inquiry_order_mismatch")
    note = OrderNote(
        merchant_id=merchant_id,
        order_id=order_id,
        inquiry_id=inquiry_id,
        author_id=author_id,
        text=cleaned,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notes_for_order(session: Session, merchant_id: int, order_id: int) -> list[OrderNote]:
    """The order's notes, oldest first."""
    order_of(session, merchant_id, order_id)
    return list(
        session.scalars(
            select(OrderNote)
            .where(OrderNote.merchant_id == merchant_id, OrderNote.order_id == order_id)
            .order_by(OrderNote.id)
        )
    )
