"""Where a store's logistics lose time: stage durations, on-time rate, bottlenecks.

SQL does the heavy part — one aggregate over the events gives every order's first
time at each milestone and its exception counts — and numpy the percentiles,
which SQLite cannot compute. Orders are included by purchase date.

Stages (from the milestones every integration maps onto):

- ``approval``: placed → payment confirmed
- ``handling``: payment confirmed → handed to the carrier (shipped)
- ``transit``: shipped → out for delivery (→ delivered when the carrier never
  reports the last mile)
- ``last_mile``: out for delivery → delivered

A bottleneck is a (stage, group) whose median is above the median of all orders
for that stage: its cost is the excess days times the orders that went through
it, so a slightly slow lane with a lot of volume can outrank a very slow one
that ships twice a month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from rumbo.events.status import Status
from rumbo.kit.timezones import zone_for
from rumbo.models import Event, Order, Shipment

DAY = 86400.0


class Stage(StrEnum):
    APPROVAL = "approval"
    HANDLING = "handling"
    TRANSIT = "transit"
    LAST_MILE = "last_mile"


class GroupBy(StrEnum):
    CARRIER = "carrier"
    LANE = "lane"
    SELLER = "seller"
    DESTINATION_STATE = "destination_state"


@dataclass(frozen=True, slots=True)
class OrderTimes:
    """One order's journey as the analytics see it."""

    order_id: int
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    out_at: datetime | None
    delivered_at: datetime | None
    promised: date | None
    exceptions: int
    failed_attempts: int
    groups: dict[GroupBy, str | None]
    zone: tzinfo = UTC
    stages: dict[Stage, float | None] = field(init=False)

    def __post_init__(self) -> None:
        # Computed once: every grouping and ranking reads them.
        spans = {
            Stage.APPROVAL: (self.placed_at, self.paid_at),
            Stage.HANDLING: (self.paid_at, self.shipped_at),
            Stage.TRANSIT: (self.shipped_at, self.out_at or self.delivered_at),
            Stage.LAST_MILE: (self.out_at, self.delivered_at),
        }
        stages = {
            stage: (end - start).total_seconds() / DAY if start and end and end >= start else None
            for stage, (start, end) in spans.items()
        }
        object.__setattr__(self, "stages", stages)

    def stage_days(self, stage: Stage) -> float | None:
        return self.stages[stage]

    @property
    def on_time(self) -> bool | None:
        """Delivered by the end of the promised day on the destination's clock (what the
        shopper was told); None when either is unknown."""
        if self.delivered_at is None or self.promised is None:
            return None
        return self.delivered_at.astimezone(self.zone).date() <= self.promised


def _first(status: Status) -> Any:
    return func.min(case((Event.status == status.value, Event.occurred_at)))


def order_times(session: Session, merchant_id: int, start: date, end: date) -> list[OrderTimes]:
    """Every order of the merchant purchased in ``[start, end)`` with its milestone times."""
    lo = datetime.combine(start, datetime.min.time(), UTC)
    hi = datetime.combine(end, datetime.min.time(), UTC)
    milestones = (
        select(
            Event.order_id,
            _first(Status.PAYMENT_CONFIRMED).label("paid_at"),
            _first(Status.SHIPPED).label("shipped_at"),
            _first(Status.OUT_FOR_DELIVERY).label("out_at"),
            _first(Status.DELIVERED).label("delivered_at"),
            func.sum(case((Event.status == Status.EXCEPTION.value, 1), else_=0)).label(
                "exceptions"
            ),
            func.sum(case((Event.status == Status.DELIVERY_FAILED.value, 1), else_=0)).label(
                "failed"
            ),
        )
        .join(Order, Order.id == Event.order_id)
        .where(Order.merchant_id == merchant_id, Order.placed_at >= lo, Order.placed_at < hi)
        .group_by(Event.order_id)
    )
    times: dict[int, Any] = {row.order_id: row for row in session.execute(milestones)}
    carriers: dict[int, str] = {}
    for parcel in session.execute(
        select(Shipment.order_id, Shipment.carrier)
        .join(Order, Order.id == Shipment.order_id)
        .where(Order.merchant_id == merchant_id, Order.placed_at >= lo, Order.placed_at < hi)
        .order_by(Shipment.id)
    ):
        carriers.setdefault(parcel.order_id, parcel.carrier)
    result = []
    # Only the scalars needed, picked out of the JSON columns by the database.
    for order in session.execute(
        select(
            Order.id,
            Order.placed_at,
            Order.status,
            Order.promised_delivery_date,
            Order.destination["state"].as_string().label("destination"),
            Order.destination["country"].as_string().label("country"),
            Order.origin["state"].as_string().label("origin"),
            Order.attributes[("seller_ids", 0)].as_string().label("seller"),
            Order.attributes["carrier"].as_string().label("carrier"),
        ).where(Order.merchant_id == merchant_id, Order.placed_at >= lo, Order.placed_at < hi)
    ):
        row = times.get(order.id)
        origin = order.origin
        destination = order.destination
        delivered = (
            row.delivered_at if row is not None and order.status == Status.DELIVERED.value else None
        )
        result.append(
            OrderTimes(
                order_id=order.id,
                placed_at=order.placed_at,
                paid_at=_aware(row.paid_at) if row else None,
                shipped_at=_aware(row.shipped_at) if row else None,
                out_at=_aware(row.out_at) if row else None,
                delivered_at=_aware(delivered),
                promised=order.promised_delivery_date,
                exceptions=int(row.exceptions or 0) if row else 0,
                failed_attempts=int(row.failed or 0) if row else 0,
                zone=zone_for(order.country, order.destination),
                groups={
                    GroupBy.CARRIER: carriers.get(order.id) or order.carrier,
                    GroupBy.LANE: f"{origin}>{destination}" if origin and destination else None,
                    GroupBy.SELLER: order.seller,
                    GroupBy.DESTINATION_STATE: destination,
                },
            )
        )
    return result


def _aware(value: Any) -> datetime | None:
    """Aggregates bypass the column type: SQLite hands back its text form."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    moment: datetime = value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StageFigures:
    orders: int
    p50_days: float | None
    p90_days: float | None


@dataclass
class GroupFigures:
    group: str | None
    orders: int = 0
    delivered: int = 0
    on_time_rate: float | None = None
    exceptions: int = 0
    failed_attempts: int = 0
    stages: dict[Stage, StageFigures] = field(default_factory=dict)


def _percentiles(values: Sequence[float]) -> StageFigures:
    if not values:
        return StageFigures(0, None, None)
    p50, p90 = np.quantile(np.asarray(values), [0.5, 0.9])
    return StageFigures(len(values), round(float(p50), 2), round(float(p90), 2))


def figures(orders: Sequence[OrderTimes], group: str | None = None) -> GroupFigures:
    out = GroupFigures(group=group, orders=len(orders))
    judged = [o.on_time for o in orders if o.on_time is not None]
    out.delivered = sum(o.delivered_at is not None for o in orders)
    out.on_time_rate = round(sum(judged) / len(judged), 4) if judged else None
    out.exceptions = sum(o.exceptions for o in orders)
    out.failed_attempts = sum(o.failed_attempts for o in orders)
    for stage in Stage:
        days = [d for o in orders if (d := o.stage_days(stage)) is not None]
        out.stages[stage] = _percentiles(days)
    return out


def grouped(orders: Sequence[OrderTimes], by: GroupBy) -> list[GroupFigures]:
    """Figures per group value, largest volume first (orders without the value are left out)."""
    buckets: dict[str, list[OrderTimes]] = defaultdict(list)
    for order in orders:
        key = order.groups[by]
        if key is not None:
            buckets[key].append(order)
    return sorted(
        (figures(members, key) for key, members in buckets.items()),
        key=lambda g: (-g.orders, g.group or ""),
    )


@dataclass(frozen=True, slots=True)
class Bottleneck:
    stage: Stage
    group_by: GroupBy
    group: str
    orders: int
    median_days: float
    normal_days: float
    excess_days: float  # per order, above the median of all orders
    cost_days: float  # excess × orders: the days this (stage, group) costs


def bottlenecks(
    orders: Sequence[OrderTimes], *, min_orders: int = 5, limit: int = 20
) -> list[Bottleneck]:
    """(stage, group) pairs ranked by the days they cost above normal, weighted by volume."""
    found = []
    for stage in Stage:
        all_days = [d for o in orders if (d := o.stage_days(stage)) is not None]
        if not all_days:
            continue
        normal = float(np.median(all_days))
        for by in GroupBy:
            buckets: dict[str, list[float]] = defaultdict(list)
            for order in orders:
                key = order.groups[by]
                days = order.stage_days(stage)
                if key is not None and days is not None:
                    buckets[key].append(days)
            for key, days_list in buckets.items():
                if len(days_list) < min_orders:
                    continue
                median = float(np.median(days_list))
                excess = median - normal
                if excess <= 0:
                    continue
                found.append(
                    Bottleneck(
                        stage, by, key, len(days_list), round(median, 2), round(normal, 2),
                        round(excess, 2), round(excess * len(days_list), 1),
                    )
                )  # fmt: skip
    found.sort(key=lambda b: (-b.cost_days, b.stage, b.group_by, b.group))
    return found[:limit]


def weekly_on_time(orders: Sequence[OrderTimes]) -> list[tuple[date, int, float | None]]:
    """(Monday of the purchase week, delivered orders judged, on-time rate) per week."""
    weeks: dict[date, list[bool]] = defaultdict(list)
    for order in orders:
        if order.on_time is not None:
            day = order.placed_at.date()
            weeks[day - timedelta(days=day.weekday())].append(order.on_time)
    return [
        (week, len(flags), round(sum(flags) / len(flags), 4))
        for week, flags in sorted(weeks.items())
    ]
