"""What the console reads: one-box search, an order's full picture, the inquiry queue.

Every query is scoped to the staff member's merchant; another merchant's id reads
as not found. Inquiries, notes and conversations come from ``rumbo.support``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from rumbo.errors import RumboError
from rumbo.kit.codes import CodeError, normalize, parse_tracking_code
from rumbo.kit.pagination import decode_cursor, encode_cursor
from rumbo.models import (
    Device,
    DeviceRoute,
    Event,
    Inquiry,
    Order,
    OrderNote,
    OutboxMessage,
    Shipment,
    StaffUser,
)
from rumbo.models.support import INQUIRY_STATUSES, INQUIRY_TYPES
from rumbo.support import service as support

SEARCH_LIMIT = 50
QUEUE_PAGE = 50
# Fewer digits than this match too many phones to be useful.
MIN_PHONE_DIGITS = 8


# ------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Hit:
    order: Order
    matched: str


def phone_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _digits_sql(column: Any) -> ColumnElement[str]:
    """The column's value without the separators people write in phone numbers (SQL
    both databases run: nested replace())."""
    expr: Any = column
    for separator in (" ", "-", "(", ")", "+", ".", "/"):
        expr = func.replace(expr, separator, "")
    result: ColumnElement[str] = expr
    return result


def search(session: Session, merchant_id: int, text: str) -> list[Hit]:
    """Orders matching ``text`` as a tracking code (typos in separators, case and
    look-alike letters forgiven), external id, e-mail, phone (digits only; a number
    without its country code matches its end) or carrier tracking number."""
    q = text.strip()
    if not q:
        return []
    if len(q) > 320:
        raise RumboError("A search has at most 320 characters.", 422, "search_too_long")
    tests: list[tuple[str, ColumnElement[bool]]] = [("external id", Order.external_id == q)]
    with contextlib.suppress(CodeError):
        tests.append(("tracking code", Order.tracking_code == parse_tracking_code(q)))
    if "@" in q:
        tests.append(("e-mail", Order.customer_email == q.lower()))
    numbers = {q, q.upper(), normalize(q)}
    shipment_orders = (
        select(Shipment.order_id)
        .where(Shipment.merchant_id == merchant_id, Shipment.tracking_number.in_(numbers))
        .scalar_subquery()
    )
    tests.append(("carrier tracking number", Order.id.in_(shipment_orders)))
    digits = phone_digits(q)
    if len(digits) >= MIN_PHONE_DIGITS and len(digits) >= len(q.replace(" ", "")) - 4:
        tests.append(("phone", _digits_sql(Order.customer_phone).like(f"%{digits}")))
    rows = session.scalars(
        select(Order)
        .where(Order.merchant_id == merchant_id, or_(*(test for _, test in tests)))
        .order_by(Order.id.desc())
        .limit(SEARCH_LIMIT)
    ).all()
    return [Hit(order, _matched_by(order, q, digits)) for order in rows]


def _matched_by(order: Order, q: str, digits: str) -> str:
    if order.external_id == q:
        return "external id"
    try:
        if order.tracking_code == parse_tracking_code(q):
            return "tracking code"
    except CodeError:
        pass
    if order.customer_email and order.customer_email == q.lower():
        return "e-mail"
    if digits and order.customer_phone and phone_digits(order.customer_phone).endswith(digits):
        return "phone"
    return "carrier tracking number"


# ------------------------------------------------------------------------- an order


@dataclass(frozen=True)
class RawEvent:
    event: Event
    raw_pretty: str


@dataclass(frozen=True)
class Courier:
    device_name: str
    device_id: str
    lat: float
    lon: float
    recorded_at: datetime | None
    speed_kmh: float | None
    battery: float | None
    shipment_id: int
    arriving_soon_at: datetime | None


@dataclass
class OrderPicture:
    order: Order
    shipments: list[Shipment]
    events: list[RawEvent]
    notifications: list[OutboxMessage]
    couriers: list[Courier]
    conversations: list[support.ConversationView]
    notes: list[OrderNote]
    inquiries: list[Inquiry]
    staff_names: dict[int, str] = field(default_factory=dict)


def pretty_raw(raw: str) -> str:
    """A stored payload indented for reading; kept as it came if it is not JSON."""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return raw


def order_picture(session: Session, merchant_id: int, order_id: int) -> OrderPicture:
    order = support.order_of(session, merchant_id, order_id)
    shipments = list(
        session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id))
    )
    events = [
        RawEvent(event, pretty_raw(event.raw))
        for event in session.scalars(
            select(Event)
            .where(Event.order_id == order.id, Event.merchant_id == merchant_id)
            .order_by(Event.occurred_at.desc(), Event.id.desc())
        )
    ]
    notifications = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.order_id == order.id, OutboxMessage.merchant_id == merchant_id)
            .order_by(OutboxMessage.id.desc())
        )
    )
    couriers = [
        Courier(
            device_name=row.name,
            device_id=row.device_id,
            lat=row.lat,
            lon=row.lon,
            recorded_at=row.recorded_at,
            speed_kmh=row.speed_kmh,
            battery=row.battery,
            shipment_id=row.shipment_id,
            arriving_soon_at=row.arriving_soon_at,
        )
        for row in session.execute(
            select(
                Device.name,
                Device.device_id,
                Device.lat,
                Device.lon,
                Device.recorded_at,
                Device.speed_kmh,
                Device.battery,
                DeviceRoute.shipment_id,
                DeviceRoute.arriving_soon_at,
            )
            .join(DeviceRoute, DeviceRoute.device_pk == Device.id)
            .where(
                DeviceRoute.shipment_id.in_([s.id for s in shipments]),
                Device.merchant_id == merchant_id,
                Device.lat.is_not(None),
            )
        )
    ]
    conversations = support.conversations_for_order(session, merchant_id, order.id)
    notes = support.notes_for_order(session, merchant_id, order.id)
    inquiries, _ = support.list_inquiries(session, merchant_id, order_id=order.id, limit=200)
    authors = {note.author_id for note in notes} | {i.assignee_id for i in inquiries}
    for view in conversations:
        authors |= {turn.author_id for turn in view.turns}
    return OrderPicture(
        order,
        shipments,
        events,
        notifications,
        couriers,
        conversations,
        notes,
        inquiries,
        staff_names(session, merchant_id, authors),
    )


def staff_names(session: Session, merchant_id: int, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {
        row.id: row.name
        for row in session.execute(
            select(StaffUser.id, StaffUser.name).where(
                StaffUser.merchant_id == merchant_id, StaffUser.id.in_(wanted)
            )
        )
    }


def active_staff(session: Session, merchant_id: int) -> list[StaffUser]:
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.merchant_id == merchant_id, StaffUser.active.is_(True))
            .order_by(StaffUser.name, StaffUser.id)
        )
    )


# ------------------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueFilter:
    """``status``: one status, or ``"active"`` (open and waiting); ``assignee``: a staff
    id, ``"me"`` resolved by the caller, ``"none"`` for unassigned, or empty for all."""

    status: str = "active"
    assignee: str = ""
    type: str = ""

    def validate(self) -> None:
        if self.status not in ("active", "all", *INQUIRY_STATUSES):
            raise RumboError(
                "Unknown status filter.", 422, "invalid_filter", {"status": self.status}
            )
        if self.type and self.type not in INQUIRY_TYPES:
            raise RumboError("Unknown inquiry type.", 422, "invalid_filter", {"type": self.type})
        if self.assignee not in ("", "none") and not self.assignee.isdigit():
            raise RumboError(
                "Unknown assignee filter.", 422, "invalid_filter", {"assignee": self.assignee}
            )


@dataclass(frozen=True)
class QueuePage:
    inquiries: list[Inquiry]
    orders: dict[int, Order]
    staff_names: dict[int, str]
    next_cursor: str | None


def queue(
    session: Session, merchant_id: int, flt: QueueFilter, cursor: str | None = None
) -> QueuePage:
    """Inquiries oldest first (the one waiting longest on top), filtered, a page at a time."""
    flt.validate()
    stmt = select(Inquiry).where(Inquiry.merchant_id == merchant_id)
    if flt.status == "active":
        stmt = stmt.where(Inquiry.status.in_(("open", "waiting")))
    elif flt.status != "all":
        stmt = stmt.where(Inquiry.status == flt.status)
    if flt.assignee == "none":
        stmt = stmt.where(Inquiry.assignee_id.is_(None))
    elif flt.assignee:
        stmt = stmt.where(Inquiry.assignee_id == int(flt.assignee))
    if flt.type:
        stmt = stmt.where(Inquiry.type == flt.type)
    if cursor:
        stmt = stmt.where(Inquiry.id > decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Inquiry.id).limit(QUEUE_PAGE + 1)))
    next_cursor = encode_cursor(rows[QUEUE_PAGE - 1].id) if len(rows) > QUEUE_PAGE else None
    rows = rows[:QUEUE_PAGE]
    return QueuePage(
        rows,
        orders_by_id(session, merchant_id, [i.order_id for i in rows]),
        staff_names(session, merchant_id, {i.assignee_id for i in rows}),
        next_cursor,
    )


def orders_by_id(session: Session, merchant_id: int, ids: Sequence[int | None]) -> dict[int, Order]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {
        order.id: order
        for order in session.scalars(
            select(Order).where(Order.merchant_id == merchant_id, Order.id.in_(wanted))
        )
    }


@dataclass
class InquiryPicture:
    inquiry: Inquiry
    order: Order | None
    conversation: support.ConversationView | None
    notes: list[OrderNote]
    staff: list[StaffUser]
    staff_names: dict[int, str]


def inquiry_picture(session: Session, merchant_id: int, inquiry_id: int) -> InquiryPicture:
    inquiry = support.get_inquiry(session, merchant_id, inquiry_id)
    order = (
        support.order_of(session, merchant_id, inquiry.order_id)
        if inquiry.order_id is not None
        else None
    )
    conversation = (
        support.get_conversation(session, merchant_id, inquiry.conversation_id)
        if inquiry.conversation_id is not None
        else None
    )
    notes = [
        note
        for note in (
            support.notes_for_order(session, merchant_id, order.id) if order is not None else []
        )
        if note.inquiry_id == inquiry.id
    ]
    staff = active_staff(session, merchant_id)
    ids: set[int | None] = {inquiry.assignee_id} | {n.author_id for n in notes}
    if conversation is not None:
        ids |= {turn.author_id for turn in conversation.turns}
    return InquiryPicture(
        inquiry, order, conversation, notes, staff, staff_names(session, merchant_id, ids)
    )
