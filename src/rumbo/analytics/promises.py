"""Promise accuracy: how the delivery dates Rumbo showed held up, per carrier and lane.

Measured from the predictions as they were shown (``eta_promises``, written by the
re-scoring job), never recomputed with today's model. For each delivered order of
the range, the first prediction shown before the delivery is the promise the shopper
planned around; it is scored against the real delivery:

- **distance**: mean of |shown likely date − delivery|, in days;
- **range held**: share delivered between the shown earliest moment and the end of the
  shown latest day;
- **broken**: share delivered after the shown latest day had ended (the latest is the
  last second of the safe day on the destination's clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rumbo.events.status import Status
from rumbo.models import EtaPromise, Event, Order, Shipment

DAY = 86400.0


@dataclass(frozen=True)
class PromiseFigures:
    group: str
    orders: int
    distance_days: float | None
    range_held_rate: float | None
    broken_rate: float | None


@dataclass(frozen=True)
class PromiseAccuracy:
    total: PromiseFigures
    carriers: list[PromiseFigures]
    lanes: list[PromiseFigures]


@dataclass(frozen=True, slots=True)
class _Scored:
    carrier: str | None
    lane: str | None
    distance: float
    held: bool
    broken: bool


def _figures(group: str, rows: list[_Scored]) -> PromiseFigures:
    n = len(rows)
    if not n:
        return PromiseFigures(group, 0, None, None, None)
    return PromiseFigures(
        group,
        n,
        sum(r.distance for r in rows) / n,
        sum(r.held for r in rows) / n,
        sum(r.broken for r in rows) / n,
    )


def _grouped(rows: list[_Scored], key: str, limit: int) -> list[PromiseFigures]:
    groups: dict[str, list[_Scored]] = {}
    for r in rows:
        name = getattr(r, key)
        if name:
            groups.setdefault(name, []).append(r)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [_figures(name, members) for name, members in ranked[:limit]]


def promise_accuracy(
    session: Session, merchant_id: int, start: date, end: date, *, limit: int = 15
) -> PromiseAccuracy:
    """Promise accuracy over the merchant's orders purchased in ``[start, end)`` and
    delivered; the ``limit`` carriers and lanes with most orders."""
    lo = datetime.combine(start, datetime.min.time(), UTC)
    hi = datetime.combine(end, datetime.min.time(), UTC)
    delivered_at = (
        select(func.min(Event.occurred_at))
        .where(Event.order_id == Order.id, Event.status == Status.DELIVERED.value)
        .scalar_subquery()
    )
    first_carrier = (
        select(Shipment.carrier)
        .where(Shipment.order_id == Order.id)
        .order_by(Shipment.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt: Any = (
        select(
            EtaPromise.order_id,
            EtaPromise.shown_at,
            EtaPromise.estimated,
            EtaPromise.earliest,
            EtaPromise.latest,
            delivered_at.label("delivered"),
            func.coalesce(first_carrier, Order.attributes["carrier"].as_string()).label("carrier"),
            Order.origin["state"].as_string().label("origin"),
            Order.destination["state"].as_string().label("destination"),
        )
        .join(Order, Order.id == EtaPromise.order_id)
        .where(
            EtaPromise.merchant_id == merchant_id,
            Order.merchant_id == merchant_id,
            Order.status == Status.DELIVERED.value,
            Order.placed_at >= lo,
            Order.placed_at < hi,
        )
        .order_by(EtaPromise.order_id, EtaPromise.shown_at, EtaPromise.id)
    )
    scored: list[_Scored] = []
    last_order: int | None = None
    for row in session.execute(stmt):
        if row.order_id == last_order or row.delivered is None or row.shown_at >= row.delivered:
            continue
        last_order = row.order_id
        delivered = row.delivered
        scored.append(
            _Scored(
                carrier=row.carrier,
                lane=f"{row.origin}>{row.destination}" if row.origin and row.destination else None,
                distance=abs((row.estimated - delivered).total_seconds()) / DAY,
                held=row.earliest <= delivered <= row.latest,
                broken=delivered > row.latest,
            )
        )
    return PromiseAccuracy(
        total=_figures("", scored),
        carriers=_grouped(scored, "carrier", limit),
        lanes=_grouped(scored, "lane", limit),
    )
