"""Inquiries, conversations and order notes: the support domain's logic.

Every function is scoped by ``merchant_id``: an id that belongs to another merchant
is a 404, exactly like one that does not exist. Functions only ``flush()``; the
caller's transaction commits. Times come from the caller (``now``), read once from
the injected clock.

Inquiry life: ``open`` → ``waiting`` (an agent replied, the shopper's turn) →
``resolved``; ``waiting`` → ``open`` when the shopper writes again; a resolved
inquiry may be reopened (``resolved`` → ``open``), which clears ``resolved_at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, TypeVar, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.assistant.intents import Intent
from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.kit.codes import CodeError, parse_tracking_code
from rumbo.kit.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from rumbo.models import Conversation, ConversationTurn, Inquiry, Order, OrderNote, StaffUser
from rumbo.models.support import INQUIRY_SOURCES, INQUIRY_STATUSES, INQUIRY_TYPES, TURN_ROLES
from rumbo.shared.i18n import DEFAULT_LANGUAGE, normalize_language

InquiryType = Literal[
    "where_is_it", "delay", "damaged", "wrong_item", "return", "address_change", "other"
]
InquiryStatus = Literal["open", "waiting", "resolved"]
InquirySource = Literal["assistant", "agent", "api"]
TurnRole = Literal["shopper", "assistant", "agent"]

assert get_args(InquiryType) == INQUIRY_TYPES
assert get_args(InquiryStatus) == INQUIRY_STATUSES
assert get_args(InquirySource) == INQUIRY_SOURCES
assert get_args(TurnRole) == TURN_ROLES

# Moves an inquiry's status may make; staying put is always allowed (a no-op).
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "open": frozenset({"waiting", "resolved"}),
    "waiting": frozenset({"open", "resolved"}),
    "resolved": frozenset({"open"}),
}

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

SUBJECT_MAX = 300
TEXT_MAX = 5000


class _Unset:
    """Marks an argument that was not given, so ``None`` can mean "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation with its turns (oldest first) and the inquiry it opened, if any."""

    conversation: Conversation
    turns: list[ConversationTurn] = field(default_factory=list)
    inquiry_id: int | None = None


@dataclass(frozen=True, slots=True)
class Exchange:
    """What one recorded question-and-answer did: the conversation it belongs to,
    and the inquiry of that conversation (``inquiry_opened``: opened by this one)."""

    conversation: Conversation
    answer_turn: ConversationTurn
    inquiry: Inquiry | None
    inquiry_opened: bool


# ---------------------------------------------------------------- lookups


_Row = TypeVar("_Row", Order, StaffUser, Inquiry, Conversation)


def _owned(
    session: Session, model: type[_Row], row_id: int, merchant_id: int, what: str, code: str
) -> _Row:
    """The merchant's row of ``model``, or a 404 — also for another merchant's row, so
    an id never tells whether it exists elsewhere."""
    row = session.get(model, row_id)
    if row is None or row.merchant_id != merchant_id:
        raise NotFound(f"No {what} with this id.", code)
    return row


def order_of(session: Session, merchant_id: int, order_id: int) -> Order:
    """The merchant's order, or a 404 (also for another merchant's order)."""
    return _owned(session, Order, order_id, merchant_id, "order", "order_not_found")


def find_order_by_reference(
    session: Session,
    merchant_id: int,
    *,
    order_id: int | None = None,
    tracking_code: str | None = None,
    external_id: str | None = None,
) -> Order | None:
    """The order named by at most one of id, tracking code or external id; ``None`` if
    none is given. A 400 for more than one, a 404 for one that is not the merchant's."""
    given = [v for v in (order_id, tracking_code, external_id) if v is not None]
    if len(given) > 1:
        raise RumboError(
            "Name the order by one of order_id, tracking_code or external_id.",
            400,
            "ambiguous_order_reference",
        )
    if order_id is not None:
        return order_of(session, merchant_id, order_id)
    if tracking_code is not None:
        try:
            code = parse_tracking_code(tracking_code)
        except CodeError:
            raise NotFound("No order has this tracking code.", "order_not_found") from None
        order = session.scalar(
            select(Order).where(Order.merchant_id == merchant_id, Order.tracking_code == code)
        )
        if order is None:
            raise NotFound("No order has this tracking code.", "order_not_found")
        return order
    if external_id is not None:
        order = session.scalar(
            select(Order).where(Order.merchant_id == merchant_id, Order.external_id == external_id)
        )
        if order is None:
            raise NotFound("No order has this external id.", "order_not_found")
        return order
    return None


def staff_of(session: Session, merchant_id: int, staff_id: int) -> StaffUser:
    """The merchant's staff member, or a 404."""
    return _owned(session, StaffUser, staff_id, merchant_id, "staff member", "staff_not_found")


def _assignable(session: Session, merchant_id: int, staff_id: int) -> StaffUser:
    staff = staff_of(session, merchant_id, staff_id)
    if not staff.active:
        raise Conflict("This staff member is deactivated.", "staff_inactive")
    return staff


def get_inquiry(session: Session, merchant_id: int, inquiry_id: int) -> Inquiry:
    """The merchant's inquiry, or a 404."""
    return _owned(session, Inquiry, inquiry_id, merchant_id, "inquiry", "inquiry_not_found")


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


# ---------------------------------------------------------------- writing


def _clean(text: str, what: str, max_length: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise RumboError(f"The {what} is empty.", 422, "validation_error")
    if len(cleaned) > max_length:
        raise RumboError(
            f"The {what} is longer than {max_length} characters.", 422, "validation_error"
        )
    return cleaned


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise RumboError(
            f"Unknown {what} {value!r}; one of: {', '.join(allowed)}.",
            422,
            "validation_error",
        )


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


def _check_move(inquiry: Inquiry, status: str) -> None:
    if status != inquiry.status and status not in TRANSITIONS[inquiry.status]:
        raise Conflict(
            f"An inquiry cannot go from {inquiry.status} to {status}.",
            "invalid_transition",
            {"from": inquiry.status, "to": status},
        )


def _move(inquiry: Inquiry, status: str, now: datetime) -> None:
    _check_move(inquiry, status)
    if status == inquiry.status:
        return
    inquiry.status = status
    inquiry.resolved_at = now if status == "resolved" else None
    inquiry.updated_at = now


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


# ---------------------------------------------------------------- the assistant's side


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
