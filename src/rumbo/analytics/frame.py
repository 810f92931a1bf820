"""Every order of a date range as columns of numbers: what all the analytics read.

One SQL statement returns one row per order with the first time it reached each
milestone (``GROUP BY`` with a conditional ``MIN`` over its events), its exception
and failed-attempt counts, its promise and the labels it is grouped by. Times come
back as days since 1970-01-01 UTC computed by the database, so no row becomes a
Python object: the columns go straight into numpy arrays, and every figure after
that (percentiles per group, histograms, weekly rates, bottlenecks) is a vectorised
operation over them. The statement is most of the cost, 0.6-0.8 s for 100,000 orders
on either database (benchmarks/README.md). The grouping labels are fields of the
orders' JSON documents, which PostgreSQL stores as jsonb (migration 0010) so that
reading one is a lookup rather than a parse of the whole text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Float, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from rumbo.events.status import Status
from rumbo.kit.timezones import zone_for
from rumbo.models import Event, Order, Shipment

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

EPOCH = date(1970, 1, 1)


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


class epoch_days(FunctionElement[float]):  # noqa: N801 - a SQL function's name
    """Days (fractional) since 1970-01-01 00:00 UTC of a stored time or date."""

    type = Float()
    inherit_cache = True


@compiles(epoch_days, "sqlite")
def _epoch_days_sqlite(element: epoch_days, compiler: SQLCompiler, **kw: Any) -> str:
    # Times are stored as UTC text; julianday() reads it (https://sqlite.org/lang_datefunc.html).
    return f"(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5)"


@compiles(epoch_days, "postgresql")
def _epoch_days_postgresql(element: epoch_days, compiler: SQLCompiler, **kw: Any) -> str:
    # EXTRACT(EPOCH ...) of a timestamptz or a date counts seconds since 1970-01-01 UTC
    # (https://www.postgresql.org/docs/current/functions-datetime.html#FUNCTIONS-DATETIME-EXTRACT).
    inner = compiler.process(element.clauses, **kw)
    return f"(CAST(EXTRACT(EPOCH FROM {inner}) AS DOUBLE PRECISION) / 86400.0)"


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


@dataclass(frozen=True)
class Labels:
    """A categorical column: ``codes[i]`` indexes ``names``; -1 where unknown."""

    codes: Ints
    names: list[str]

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Labels:
        """Codes in the sorted order of the names; ``None`` and ``""`` are unknown."""
        # A dict numbers the distinct values in one pass (much cheaper than sorting
        # 100,000 strings); only the few distinct names are then sorted.
        seen: dict[str, int] = {}
        codes = np.fromiter(
            (seen.setdefault(v, len(seen)) if v else -1 for v in values), dtype=np.int64
        )
        names = sorted(seen)
        # rank[i]: position among the sorted names of the i-th value seen; -1 stays -1.
        rank = np.full(len(names) + 1, -1, dtype=np.int64)
        rank[[seen[name] for name in names]] = np.arange(len(names))
        return cls(rank[codes], names)

    @classmethod
    def pairs(cls, left: Labels, right: Labels, sep: str = ">") -> Labels:
        """``"left>right"`` for every entry where both are known."""
        width = max(1, len(right.names))
        known = (left.codes >= 0) & (right.codes >= 0)
        combined = np.where(known, left.codes * width + right.codes, -1)
        found, inverse = np.unique(combined, return_inverse=True)
        codes = inverse.astype(np.int64).reshape(-1)
        names = [f"{left.names[c // width]}{sep}{right.names[c % width]}" for c in found if c >= 0]
        if len(found) and found[0] < 0:
            codes = codes - 1
        return cls(codes, names)

    def take(self, mask: Bools) -> Labels:
        return Labels(self.codes[mask], self.names)


@dataclass(frozen=True)
class OrderFrame:
    """One entry per order; times in days since the epoch (UTC), NaN where unknown."""

    placed: Floats
    promised: Floats  # the promised calendar day's number
    delivered: Floats  # only for orders whose status is delivered
    exceptions: Ints
    failed_attempts: Ints
    on_time: Floats  # 1.0 / 0.0, NaN when not delivered or nothing was promised
    placed_day: Ints  # purchase day on the destination's clock
    stages: dict[Stage, Floats]
    groups: dict[GroupBy, Labels]
    origin: Labels
    destination: Labels

    def __len__(self) -> int:
        return len(self.placed)

    def take(self, mask: Bools) -> OrderFrame:
        return OrderFrame(
            placed=self.placed[mask],
            promised=self.promised[mask],
            delivered=self.delivered[mask],
            exceptions=self.exceptions[mask],
            failed_attempts=self.failed_attempts[mask],
            on_time=self.on_time[mask],
            placed_day=self.placed_day[mask],
            stages={stage: days[mask] for stage, days in self.stages.items()},
            groups={by: labels.take(mask) for by, labels in self.groups.items()},
            origin=self.origin.take(mask),
            destination=self.destination.take(mask),
        )


def _first(status: Status) -> Any:
    return func.min(case((Event.status == status.value, Event.occurred_at)))


def _count(status: Status) -> Any:
    return func.sum(case((Event.status == status.value, 1), else_=0))


def load_frame(
    session: Session,
    merchant_id: int,
    start: date,
    end: date,
) -> OrderFrame:
    """The merchant's orders purchased in ``[start, end)``."""
    lo = datetime.combine(start, datetime.min.time(), UTC)
    hi = datetime.combine(end, datetime.min.time(), UTC)
    first_carrier = (
        select(Shipment.carrier)
        .where(Shipment.order_id == Order.id)
        .order_by(Shipment.id)
        .limit(1)
        .scalar_subquery()
    )
    # One level of GROUP BY over orders ⟕ events: the events side is read from the
    # covering index ix_events_order_status_time (migration 0008), and every other
    # column depends on the grouped primary key.
    stmt = (
        select(
            epoch_days(Order.placed_at),
            epoch_days(_first(Status.PAYMENT_CONFIRMED)),
            epoch_days(_first(Status.SHIPPED)),
            epoch_days(_first(Status.OUT_FOR_DELIVERY)),
            epoch_days(case((Order.status == Status.DELIVERED.value, _first(Status.DELIVERED)))),
            epoch_days(Order.promised_delivery_date),
            _count(Status.EXCEPTION),
            _count(Status.DELIVERY_FAILED),
            Order.destination["country"].as_string(),
            Order.destination["state"].as_string(),
            Order.origin["state"].as_string(),
            Order.attributes[("seller_ids", 0)].as_string(),
            func.coalesce(first_carrier, Order.attributes["carrier"].as_string()),
        )
        .select_from(Order)
        .outerjoin(Event, Event.order_id == Order.id)
        .where(Order.merchant_id == merchant_id, Order.placed_at >= lo, Order.placed_at < hi)
        .group_by(Order.id)
    )
    # Core, not the ORM, and one 2-D array of the rows: numbers become float columns in
    # one cast (NULL -> NaN) and no per-column Python list is built.
    rows = session.connection().execute(stmt).all()
    table = np.array([tuple(row) for row in rows], dtype=object).reshape(-1, 13)
    numbers = table[:, :8].T.astype(np.float64, order="C")
    placed, paid, shipped, out, delivered, promised = numbers[:6]
    country, dest, origin, seller, carrier = table[:, 8:].T

    zones = Labels.of(f"{c or ''}/{s or ''}" for c, s in zip(country, dest, strict=True))
    placed_day, delivered_day = np.split(
        _local_days(np.concatenate((placed, delivered)), np.tile(zones.codes, 2), zones.names),
        2,
    )
    judged = ~np.isnan(delivered) & ~np.isnan(promised)
    on_time = np.where(judged, (delivered_day <= promised).astype(np.float64), np.nan)

    origins, destinations = Labels.of(origin), Labels.of(dest)
    return OrderFrame(
        placed=placed,
        promised=promised,
        delivered=delivered,
        exceptions=numbers[6].astype(np.int64),
        failed_attempts=numbers[7].astype(np.int64),
        on_time=on_time,
        placed_day=placed_day,
        stages={
            Stage.APPROVAL: _span(placed, paid),
            Stage.HANDLING: _span(paid, shipped),
            Stage.TRANSIT: _span(shipped, np.where(np.isnan(out), delivered, out)),
            Stage.LAST_MILE: _span(out, delivered),
        },
        groups={
            GroupBy.CARRIER: Labels.of(carrier),
            GroupBy.LANE: Labels.pairs(origins, destinations),
            GroupBy.SELLER: Labels.of(seller),
            GroupBy.DESTINATION_STATE: destinations,
        },
        origin=origins,
        destination=destinations,
    )


def _days(span: timedelta) -> float:
    return span.total_seconds() / 86400.0


def _span(start: Floats, end: Floats) -> Floats:
    """Days from start to end; NaN when either is missing or they run backwards."""
    with np.errstate(invalid="ignore"):
        days = end - start
        return np.where(days >= 0, days, np.nan)


def _local_days(moments: Floats, zones: Ints, names: list[str]) -> Ints:
    """The calendar day (day number) of each moment on its destination's clock;
    ``zones`` indexes ``names`` (``"country/state"``), -1 where the place is unknown.

    A zone's offset is looked up once per UTC day and zone; only on the few days when
    it changes (daylight saving) is each moment converted on its own. -1 where unknown.
    """
    out = np.full(len(moments), -1, dtype=np.int64)
    known = ~np.isnan(moments)
    for code, name in [(-1, "/"), *enumerate(names)]:
        mask = known & (zones == code)
        if not mask.any():
            continue
        country, _, state = name.partition("/")
        zone = zone_for(country or None, state or None)
        values = moments[mask]
        utc_days = np.floor(values).astype(np.int64)
        unique, inverse = np.unique(utc_days, return_inverse=True)
        starts = [datetime.combine(day_of(d), datetime.min.time(), UTC) for d in unique]
        after = np.array(
            [
                _days((s + timedelta(days=1)).astimezone(zone).utcoffset() or timedelta())
                for s in starts
            ]
        )
        before = np.array([_days(s.astimezone(zone).utcoffset() or timedelta()) for s in starts])
        local = values + before[inverse]
        changing = (before != after)[inverse]
        for i in np.flatnonzero(changing):
            moment = datetime.fromtimestamp(float(values[i]) * 86400.0, UTC).astimezone(zone)
            local[i] = values[i] + _days(moment.utcoffset() or timedelta())
        out[mask] = np.floor(local).astype(np.int64)
    return out
