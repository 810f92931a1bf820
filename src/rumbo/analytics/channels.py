"""Which channel saves support work: per channel, what was sent, delivered and read, and
how many "where is my order?" questions the orders it reached still raised.

SQL-first: two grouped queries over the orders purchased in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from rumbo.models import Inquiry, Order, OutboxMessage

# Shopper channels, in the order the figures are shown; the store's webhooks reach no shopper.
CHANNELS = ("email", "sms", "whatsapp", "push")
NONE = "none"  # orders no shopper message reached
# The inquiries tracking should prevent: "where is it?" and "why is it late?".
WISMO_TYPES = ("where_is_it", "delay")


@dataclass(frozen=True, slots=True)
class ChannelFigures:
    channel: str
    sent: int
    delivered: int | None  # None: the channel reports no delivery (e-mail, SMS here, push)
    read: int | None
    failed: int
    orders: int  # orders with at least one message sent on this channel
    wismo: int  # WISMO inquiries about those orders
    wismo_per_100_orders: float | None


def channel_figures(
    session: Session, merchant_id: int, start: date, end: date
) -> list[ChannelFigures]:
    lo = datetime.combine(start, datetime.min.time(), UTC)
    hi = datetime.combine(end, datetime.min.time(), UTC)
    in_window = and_(Order.merchant_id == merchant_id, Order.placed_at >= lo, Order.placed_at < hi)
    sent = OutboxMessage.status == "sent"
    messages = {
        row.channel: row
        for row in session.execute(
            select(
                OutboxMessage.channel,
                func.count().filter(sent).label("sent"),
                func.count(OutboxMessage.delivered_at).label("delivered"),
                func.count(OutboxMessage.read_at).label("read"),
                func.count().filter(OutboxMessage.status == "failed").label("failed"),
                func.count(func.distinct(OutboxMessage.order_id)).filter(sent).label("orders"),
            )
            .join(Order, Order.id == OutboxMessage.order_id)
            .where(in_window, OutboxMessage.channel.in_(CHANNELS))
            .group_by(OutboxMessage.channel)
        )
    }
    # Each order once per channel that reached it ("none" if none did), with its WISMO count.
    wismo = (
        select(Inquiry.order_id, func.count().label("n"))
        .where(Inquiry.merchant_id == merchant_id, Inquiry.type.in_(WISMO_TYPES))
        .group_by(Inquiry.order_id)
        .subquery()
    )
    reached = (
        select(OutboxMessage.order_id, OutboxMessage.channel)
        .where(OutboxMessage.status == "sent", OutboxMessage.channel.in_(CHANNELS))
        .distinct()
        .subquery()
    )
    channel = func.coalesce(reached.c.channel, NONE)
    per_channel = {
        row.channel: row
        for row in session.execute(
            select(
                channel.label("channel"),
                func.count().label("orders"),
                func.coalesce(func.sum(wismo.c.n), 0).label("wismo"),
            )
            .select_from(Order)
            .outerjoin(reached, reached.c.order_id == Order.id)
            .outerjoin(wismo, wismo.c.order_id == Order.id)
            .where(in_window)
            .group_by(channel)
        )
    }
    figures = []
    for name in (*CHANNELS, NONE):
        m = messages.get(name)
        o = per_channel.get(name)
        orders = int(o.orders) if o else 0
        questions = int(o.wismo) if o else 0
        # Delivery and read receipts come from WhatsApp's status webhooks only.
        reports = name == "whatsapp"
        figures.append(
            ChannelFigures(
                channel=name,
                sent=int(m.sent) if m else 0,
                delivered=(int(m.delivered) if m else 0) if reports else None,
                read=(int(m.read) if m else 0) if reports else None,
                failed=int(m.failed) if m else 0,
                orders=orders,
                wismo=questions,
                wismo_per_100_orders=round(100 * questions / orders, 2) if orders else None,
            )
        )
    return figures
