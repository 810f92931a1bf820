"""Finding a merchant's own rows: another merchant's id is a 404, like a missing one."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.kit.codes import CodeError, parse_tracking_code
from rumbo.models import Conversation, Inquiry, Order, StaffUser

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
