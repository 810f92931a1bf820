"""The support view of analytics: how often shoppers need a person, and how fast they get one.

Everything counts within ``[start, end)`` (UTC days): orders by purchase time,
inquiries and conversations by when they were opened. The backlog is the state now,
whatever the range.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from rumbo.models import Conversation, ConversationTurn, Inquiry, Order


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    p50_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True, slots=True)
class SupportFigures:
    start: date
    end: date
    orders: int
    inquiries: int
    inquiries_per_100_orders: float | None
    by_type: dict[str, int]
    by_source: dict[str, int]
    assistant_conversations: int
    answered_without_agent: int
    share_without_agent: float | None
    first_response: Durations
    resolution: Durations
    open_backlog: int
    backlog_oldest_hours: float | None
    backlog_p50_age_hours: float | None


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile with linear interpolation between closest ranks (numpy's
    default "linear" method, as the rest of analytics uses); ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(seconds: Sequence[float]) -> Durations:
    hours = [s / 3600 for s in seconds]
    p50, p90 = quantile(hours, 0.5), quantile(hours, 0.9)
    return Durations(
        count=len(hours),
        p50_hours=round(p50, 2) if p50 is not None else None,
        p90_hours=round(p90, 2) if p90 is not None else None,
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def support_figures(
    session: Session, merchant_id: int, start: date, end: date, now: datetime
) -> SupportFigures:
    """Inquiries per 100 orders, by type and source; the share of assistant
    conversations never handed over; first-response and resolution p50/p90; backlog."""
    since, until = _midnight(start), _midnight(end)
    orders = session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.merchant_id == merchant_id, Order.placed_at >= since, Order.placed_at < until)
    )
    rows = session.execute(
        select(
            Inquiry.type,
            Inquiry.source,
            Inquiry.created_at,
            Inquiry.first_response_at,
            Inquiry.resolved_at,
        ).where(
            Inquiry.merchant_id == merchant_id,
            Inquiry.created_at >= since,
            Inquiry.created_at < until,
        )
    ).all()
    answered = exists().where(
        ConversationTurn.conversation_id == Conversation.id, ConversationTurn.role == "assistant"
    )
    conversations = session.execute(
        select(Conversation.handed_over, func.count())
        .where(
            Conversation.merchant_id == merchant_id,
            Conversation.created_at >= since,
            Conversation.created_at < until,
            answered,
        )
        .group_by(Conversation.handed_over)
    ).all()
    by_handover = {bool(handed): int(n) for handed, n in conversations}
    assistant_total = sum(by_handover.values())
    without_agent = by_handover.get(False, 0)
    backlog = [
        (now - created).total_seconds()
        for created in session.scalars(
            select(Inquiry.created_at).where(
                Inquiry.merchant_id == merchant_id, Inquiry.status.in_(("open", "waiting"))
            )
        )
    ]
    order_count = int(orders or 0)
    backlog_p50 = quantile(backlog, 0.5)
    return SupportFigures(
        start=start,
        end=end,
        orders=order_count,
        inquiries=len(rows),
        inquiries_per_100_orders=round(100 * len(rows) / order_count, 2) if order_count else None,
        by_type=dict(sorted(Counter(r.type for r in rows).items())),
        by_source=dict(sorted(Counter(r.source for r in rows).items())),
        assistant_conversations=assistant_total,
        answered_without_agent=without_agent,
        share_without_agent=round(without_agent / assistant_total, 4) if assistant_total else None,
        first_response=_hours(
            [
                (r.first_response_at - r.created_at).total_seconds()
                for r in rows
                if r.first_response_at is not None
            ]
        ),
        resolution=_hours(
            [
                (r.resolved_at - r.created_at).total_seconds()
                for r in rows
                if r.resolved_at is not None
            ]
        ),
        open_backlog=len(backlog),
        backlog_oldest_hours=round(max(backlog) / 3600, 2) if backlog else None,
        backlog_p50_age_hours=round(backlog_p50 / 3600, 2) if backlog_p50 is not None else None,
    )
