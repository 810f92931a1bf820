"""Inquiries: opened by an agent, the API or an assistant handover; replied to, moved, resolved.

Inquiry life: ``open`` → ``waiting`` (an agent replied, the shopper's turn) →
``resolved``; ``waiting`` → ``open`` when the shopper writes again; a resolved
inquiry may be reopened (``resolved`` → ``open``), which clears ``resolved_at``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.kit.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from rumbo.models import Conversation, ConversationTurn, Inquiry, Order
from rumbo.models.support import INQUIRY_SOURCES, INQUIRY_STATUSES, INQUIRY_TYPES
from rumbo.support.service.conversations import add_turn, start_conversation
from rumbo.support.service.lookups import _assignable, get_inquiry, order_of, staff_of
from rumbo.support.service.rules import (
    SUBJECT_MAX,
    TEXT_MAX,
    UNSET,
    InquirySource,
    InquiryStatus,
    InquiryType,
    _check_choice,
    _check_move,
    _clean,
    _move,
    _Unset,
)


def list_inquiries(
    session: Session,
    merchant_id: int,
    *,
    status: InquiryStatus | Sequence[InquiryStatus] | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    type: InquiryType | None = None,
    source: InquirySource | None = None,
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[Inquiry], str | None]:
    """The merchant's inquiries, newest first, filtered; ``(page, next_cursor)``.

    ``status`` may be one status or several (e.g. ``["open", "waiting"]`` for a queue);
    ``unassigned=True`` keeps only those with no assignee.
    """
    stmt = select(Inquiry).where(Inquiry.merchant_id == merchant_id)
    if isinstance(status, str):
        stmt = stmt.where(Inquiry.status == status)
    elif status is not None:
        stmt = stmt.where(Inquiry.status.in_(list(status)))
    if assignee_id is not None:
        stmt = stmt.where(Inquiry.assignee_id == assignee_id)
    if unassigned:
        stmt = stmt.where(Inquiry.assignee_id.is_(None))
    if type is not None:
        stmt = stmt.where(Inquiry.type == type)
    if source is not None:
        stmt = stmt.where(Inquiry.source == source)
    if order_id is not None:
        stmt = stmt.where(Inquiry.order_id == order_id)
    if cursor:
        stmt = stmt.where(Inquiry.id < decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Inquiry.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def create_inquiry(
    session: Session,
    merchant_id: int,
    *,
    order_id: int | None,
    type: InquiryType,
    source: InquirySource,
    subject: str,
    now: datetime,
    message: str | None = None,
    contact_email: str | None = None,
    contact_phone: str | None = None,
    conversation_id: int | None = None,
    assignee_id: int | None = None,
    lang: str | None = None,
) -> Inquiry:
    """Open an inquiry (status ``open``).

    ``message`` (the shopper's words) becomes the first turn of the inquiry's
    conversation: ``conversation_id`` if given (it must be about the same order),
    else a new one in ``lang`` (default: the order's customer locale). One
    conversation holds at most one inquiry: a second is a 409.
    """
    _check_choice(type, INQUIRY_TYPES, "inquiry type")
    _check_choice(source, INQUIRY_SOURCES, "source")
    subject = _clean(subject, "subject", SUBJECT_MAX)
    text = _clean(message, "message", TEXT_MAX) if message is not None else None
    order = order_of(session, merchant_id, order_id) if order_id is not None else None
    if assignee_id is not None:
        _assignable(session, merchant_id, assignee_id)
    conversation: Conversation | None = None
    if conversation_id is not None:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.merchant_id != merchant_id:
            raise NotFound("No conversation with this id.", "conversation_not_found")
        if conversation.order_id != order_id:
            raise RumboError(
                "The conversation is about another order.", 422, "conversation_order_mismatch"
            )
        taken = session.scalar(select(Inquiry.id).where(Inquiry.conversation_id == conversation.id))
        if taken is not None:
            raise Conflict(
                "This conversation already has an inquiry.",
                "inquiry_exists",
                {"inquiry_id": taken},
            )
    elif text is not None:
        conversation = start_conversation(
            session, merchant_id, order_id, lang or (order.customer_locale if order else None), now
        )
    if conversation is not None and text is not None:
        add_turn(session, conversation, "shopper", text, now)
    inquiry = Inquiry(
        merchant_id=merchant_id,
        order_id=order_id,
        conversation_id=conversation.id if conversation is not None else None,
        type=type,
        status="open",
        source=source,
        subject=subject,
        contact_email=contact_email.strip().lower() if contact_email else None,
        contact_phone=contact_phone.strip() if contact_phone else None,
        assignee_id=assignee_id,
        created_at=now,
        updated_at=now,
    )
    session.add(inquiry)
    session.flush()
    return inquiry


def update_inquiry(
    session: Session,
    merchant_id: int,
    inquiry_id: int,
    *,
    now: datetime,
    status: InquiryStatus | _Unset = UNSET,
    assignee_id: int | None | _Unset = UNSET,
    type: InquiryType | _Unset = UNSET,
) -> Inquiry:
    """Change an inquiry's status, assignee (``None`` unassigns) or type.

    Arguments left out are untouched. A move the life cycle does not allow is a 409
    and changes nothing; an assignee of another merchant is a 404.
    """
    inquiry = get_inquiry(session, merchant_id, inquiry_id)
    if not isinstance(type, _Unset):
        _check_choice(type, INQUIRY_TYPES, "inquiry type")
    if not isinstance(status, _Unset):
        _check_choice(status, INQUIRY_STATUSES, "status")
        _check_move(inquiry, status)
    if not isinstance(assignee_id, _Unset) and assignee_id is not None:
        _assignable(session, merchant_id, assignee_id)
    # Every check is done before the first change: a refused update writes nothing.
    if not isinstance(status, _Unset):
        _move(inquiry, status, now)
    if not isinstance(type, _Unset) and type != inquiry.type:
        inquiry.type = type
        inquiry.updated_at = now
    if not isinstance(assignee_id, _Unset) and assignee_id != inquiry.assignee_id:
        inquiry.assignee_id = assignee_id
        inquiry.updated_at = now
    session.flush()
    return inquiry


def reply(
    session: Session,
    merchant_id: int,
    inquiry_id: int,
    *,
    text: str,
    now: datetime,
    author_id: int | None = None,
) -> ConversationTurn:
    """An agent's (or, without ``author_id``, the store's) reply to the shopper.

    Recorded as an ``agent`` turn of the inquiry's conversation (started if it has
    none). The first reply sets ``first_response_at``; an ``open`` inquiry moves to
    ``waiting`` (the shopper's turn).
    """
    inquiry = get_inquiry(session, merchant_id, inquiry_id)
    cleaned = _clean(text, "reply", TEXT_MAX)
    if author_id is not None:
        staff_of(session, merchant_id, author_id)
    if inquiry.conversation_id is not None:
        conversation = session.get_one(Conversation, inquiry.conversation_id)
    else:
        lang = None
        if inquiry.order_id is not None:
            lang = session.get_one(Order, inquiry.order_id).customer_locale
        conversation = start_conversation(session, merchant_id, inquiry.order_id, lang, now)
        inquiry.conversation_id = conversation.id
    turn = add_turn(session, conversation, "agent", cleaned, now, author_id=author_id)
    if inquiry.first_response_at is None:
        inquiry.first_response_at = now
    if inquiry.status == "open":
        inquiry.status = "waiting"
    inquiry.updated_at = now
    session.flush()
    return turn
