"""Stale shipments: no news for longer than the usual gap of their lane and stage.

A shipment's *news* is every event that concerns it — its own events and the
order-wide ones (payment, warehouse) — and its registration. How long a shipment
usually goes without news depends on where it goes and where it is, so the usual
gap is learnt from the merchant's own delivered shipments of the last
:data:`HISTORY`: the gaps between consecutive moments of news, each attributed to
the stage (status) the shipment was in while it waited, and their
:data:`PERCENTILE` per scope:

1. the lane (origin state > destination state, as analytics group them) at that stage,
2. else the carrier at that stage,
3. else the whole store at that stage,
4. else the whole store at any stage,
5. else :data:`DEFAULT_GAP`;

a scope counts only with at least :data:`MIN_GAPS` gaps, and no usual gap is
shorter than :data:`FLOOR`. A shipment that is not delivered, returned or
cancelled is *stale* when its latest news is older than now minus that gap.

The thresholds are one small table (``stale_thresholds``) rebuilt by the worker's
``stale-thresholds`` service; reading them is a few indexed joins, and the
predicate asks the events index only whether any news is newer than the cutoff,
so neither the API nor its ``?stale=true`` filter scans anybody's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.events.status import RANK, TERMINAL, Status
from rumbo.models import Event, Order, Shipment, StaleThreshold
from rumbo.models.types import UTCDateTime
from rumbo.shared.services import BackgroundService

log = logging.getLogger(__name__)

HISTORY = timedelta(days=90)
PERCENTILE = 0.9
MIN_GAPS = 20
FLOOR = timedelta(hours=12)
DEFAULT_GAP = timedelta(days=3)
REFRESH_SECONDS = 3600.0
_CHUNK = 500
_TERMINAL = [s.value for s in TERMINAL]

# "SP>RJ": the lane exactly as analytics groups orders; NULL when either state is unknown.
LANE = Order.origin["state"].as_string() + literal(">") + Order.destination["state"].as_string()


# --- learning (pure) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a usual gap applies; an empty string means "any"."""

    carrier: str = ""
    lane: str = ""
    stage: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    seconds: int
    samples: int


def news_gaps(events: Iterable[tuple[datetime, Status | None]]) -> list[tuple[Status, float]]:
    """The waits between consecutive moments of news of one shipment, in seconds, each
    with the stage it was spent in, up to its first terminal status.

    A function of the *set* of moments: events at the same time are one moment (the
    further milestone among them sets the stage, as in ``rumbo.events.status``), so
    arrival order and duplicates change nothing.
    """
    moments: dict[datetime, Status | None] = {}
    for at, status in events:
        held = moments.get(at)
        if status is not None and (held is None or RANK[status] > RANK[held]):
            moments[at] = status
        else:
            moments.setdefault(at, None)
    gaps: list[tuple[Status, float]] = []
    stage = Status.PENDING
    previous: datetime | None = None
    for at in sorted(moments):
        if previous is not None:
            gaps.append((stage, (at - previous).total_seconds()))
        stage = moments[at] or stage
        if stage in TERMINAL:
            break
        previous = at
    return gaps


def usual_gap(seconds: Sequence[float]) -> int:
    """The :data:`PERCENTILE` of ``seconds`` (nearest rank), never below :data:`FLOOR`."""
    ordered = sorted(seconds)
    rank = max(1, math.ceil(PERCENTILE * len(ordered)))
    return max(int(FLOOR.total_seconds()), math.ceil(ordered[rank - 1]))


@dataclass(frozen=True, slots=True)
class DeliveredShipment:
    carrier: str
    lane: str | None
    events: list[tuple[datetime, Status | None]]


def learn(shipments: Iterable[DeliveredShipment], min_gaps: int = MIN_GAPS) -> dict[Scope, Gap]:
    """The usual gap of every scope with at least ``min_gaps`` gaps."""
    samples: dict[Scope, list[float]] = defaultdict(list)
    for shipment in shipments:
        for stage, seconds in news_gaps(shipment.events):
            scopes = [
                Scope(carrier=shipment.carrier, stage=stage),
                Scope(stage=stage),
                Scope(),
            ]
            if shipment.lane:
                scopes.append(Scope(lane=shipment.lane, stage=stage))
            for scope in scopes:
                samples[scope].append(seconds)
    return {
        scope: Gap(usual_gap(values), len(values))
        for scope, values in samples.items()
        if len(values) >= min_gaps
    }


def threshold_for(
    thresholds: dict[Scope, Gap], carrier: str, lane: str | None, stage: str
) -> timedelta:
    """The usual gap that applies to one shipment (the fallback order of the module doc)."""
    candidates = [Scope(carrier=carrier, stage=stage), Scope(stage=stage), Scope()]
    if lane:
        candidates.insert(0, Scope(lane=lane, stage=stage))
    for scope in candidates:
        if scope in thresholds:
            return timedelta(seconds=thresholds[scope].seconds)
    return DEFAULT_GAP


# --- learning from the database ------------------------------------------------------------


def delivered_history(session: Session, merchant_id: int, now: datetime) -> list[DeliveredShipment]:
    """The merchant's shipments delivered in the last :data:`HISTORY`, with their news."""
    shipments = list(
        session.execute(
            select(Shipment.id, Shipment.order_id, Shipment.carrier, LANE.label("lane"))
            .join(Order, Order.id == Shipment.order_id)
            .where(
                Shipment.merchant_id == merchant_id,
                Shipment.status == Status.DELIVERED.value,
                Shipment.status_at >= now - HISTORY,
            )
            .order_by(Shipment.id)
        )
    )
    history: list[DeliveredShipment] = []
    for start in range(0, len(shipments), _CHUNK):
        chunk = shipments[start : start + _CHUNK]
        by_order: dict[int, list[Any]] = defaultdict(list)
        for row in session.execute(
            select(Event.order_id, Event.shipment_id, Event.status, Event.occurred_at).where(
                Event.order_id.in_({s.order_id for s in chunk})
            )
        ):
            by_order[row.order_id].append(row)
        for shipment in chunk:
            events = [
                (e.occurred_at, Status(e.status) if e.status else None)
                for e in by_order[shipment.order_id]
                if e.shipment_id in (None, shipment.id)
            ]
            history.append(DeliveredShipment(shipment.carrier, shipment.lane, events))
    return history


def refresh_thresholds(session: Session, merchant_id: int, now: datetime) -> dict[Scope, Gap]:
    """Relearn the merchant's usual gaps and replace the stored ones; only flushes."""
    thresholds = learn(delivered_history(session, merchant_id, now))
    session.execute(delete(StaleThreshold).where(StaleThreshold.merchant_id == merchant_id))
    if thresholds:
        session.execute(
            insert(StaleThreshold),
            [
                {
                    "merchant_id": merchant_id,
                    "carrier": scope.carrier,
                    "lane": scope.lane,
                    "stage": scope.stage,
                    "gap_seconds": gap.seconds,
                    "samples": gap.samples,
                    "learnt_at": now,
                }
                for scope, gap in sorted(thresholds.items(), key=lambda kv: _scope_key(kv[0]))
            ],
        )
    session.flush()
    return thresholds


def _scope_key(scope: Scope) -> tuple[str, str, str]:
    return (scope.carrier, scope.lane, scope.stage)


def stored_thresholds(session: Session, merchant_id: int) -> dict[Scope, Gap]:
    return {
        Scope(row.carrier, row.lane, row.stage): Gap(row.gap_seconds, row.samples)
        for row in session.execute(
            select(StaleThreshold).where(StaleThreshold.merchant_id == merchant_id)
        ).scalars()
    }


def refresh_all(db: Database, now: datetime) -> int:
    """Every merchant with shipments, one transaction each; returns how many."""
    with db.session(write=False) as session:
        merchants = list(session.scalars(select(Shipment.merchant_id).distinct()))
    for merchant_id in merchants:
        with db.session() as session:
            refresh_thresholds(session, merchant_id, now)
    return len(merchants)


async def run(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """The worker's periodic relearning of the usual gaps."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(refresh_all, db, datetime.now(UTC))
        except Exception:
            log.exception("learning stale thresholds failed")
        with contextlib.suppress(TimeoutError):  # the period ended without a stop
            await asyncio.wait_for(stop.wait(), timeout=REFRESH_SECONDS)


# --- the predicate (SQL) -------------------------------------------------------------------


def _seconds_before(dialect: str, now: datetime, seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """``now - seconds`` computed by the database, comparable with a time column."""
    if dialect == "postgresql":
        at = bindparam(None, now, type_=UTCDateTime())
        return at - func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    # SQLite keeps times as fixed-width UTC text (rumbo.models.types) and compares them as
    # text; strftime gives the same shape to the millisecond ("%f" = SS.SSS), so a stored
    # time at the cutoff compares as not older (https://sqlite.org/lang_datefunc.html).
    text = now.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return func.strftime("%Y-%m-%d %H:%M:%f", text, func.printf("-%d seconds", seconds))


@dataclass(frozen=True)
class Staleness:
    """The SQL pieces, over ``shipments`` joined to ``orders`` and the thresholds."""

    gap_seconds: ColumnElement[int]
    stale: ColumnElement[bool]
    last_news: ColumnElement[datetime | None]

    def joined(self, stmt: Any) -> Any:
        """``stmt`` (selecting from shipments) with what the columns above need."""
        return _with_thresholds(stmt.join(Order, Order.id == Shipment.order_id))


_BY_LANE = aliased(StaleThreshold, name="stale_by_lane")
_BY_CARRIER = aliased(StaleThreshold, name="stale_by_carrier")
_BY_STAGE = aliased(StaleThreshold, name="stale_by_stage")
_BY_STORE = aliased(StaleThreshold, name="stale_by_store")


def _with_thresholds(stmt: Any) -> Any:
    def scope(alias: Any, carrier: Any, lane: Any, stage: Any) -> Any:
        return and_(
            alias.merchant_id == Shipment.merchant_id,
            alias.carrier == carrier,
            alias.lane == lane,
            alias.stage == stage,
        )

    return (
        stmt.outerjoin(_BY_LANE, scope(_BY_LANE, "", LANE, Shipment.status))
        .outerjoin(_BY_CARRIER, scope(_BY_CARRIER, Shipment.carrier, "", Shipment.status))
        .outerjoin(_BY_STAGE, scope(_BY_STAGE, "", "", Shipment.status))
        .outerjoin(_BY_STORE, scope(_BY_STORE, "", "", ""))
    )


def staleness(dialect: str, now: datetime) -> Staleness:
    gap = func.coalesce(
        _BY_LANE.gap_seconds,
        _BY_CARRIER.gap_seconds,
        _BY_STAGE.gap_seconds,
        _BY_STORE.gap_seconds,
        int(DEFAULT_GAP.total_seconds()),
    )
    concerns = and_(
        Event.order_id == Shipment.order_id,
        or_(Event.shipment_id == Shipment.id, Event.shipment_id.is_(None)),
    )
    cutoff = _seconds_before(dialect, now, gap)
    fresh = exists().where(concerns, Event.occurred_at >= cutoff)
    stale = and_(Shipment.status.not_in(_TERMINAL), Shipment.created_at < cutoff, ~fresh)
    last = select(func.max(Event.occurred_at)).where(concerns).scalar_subquery()
    return Staleness(gap, stale, type_coerce(last, UTCDateTime()))


def stale_order_ids(session: Session, merchant_id: int, now: datetime) -> Any:
    """A subquery of the ids of the merchant's orders with at least one stale shipment."""
    pieces = staleness(session.get_bind().dialect.name, now)
    return pieces.joined(
        select(Shipment.order_id).where(Shipment.merchant_id == merchant_id, pieces.stale)
    )


# --- what the API shows ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShipmentNews:
    last_event_at: datetime | None
    usual_gap: timedelta
    stale_since: datetime | None

    @property
    def stale(self) -> bool:
        return self.stale_since is not None


def judge(
    status: Status,
    created_at: datetime,
    last_event_at: datetime | None,
    gap: timedelta,
    now: datetime,
) -> ShipmentNews:
    """The rule the SQL predicate applies, for one shipment: stale when open and its latest
    news (registration included) is older than ``now - gap``; stale since news + gap."""
    latest = max(filter(None, (created_at, last_event_at)))
    stale = status not in TERMINAL and latest < now - gap
    return ShipmentNews(last_event_at, gap, latest + gap if stale else None)


def shipment_news(
    session: Session, shipment_ids: Sequence[int], now: datetime
) -> dict[int, ShipmentNews]:
    """Latest news, usual gap and staleness of each of ``shipment_ids``."""
    if not shipment_ids:
        return {}
    pieces = staleness(session.get_bind().dialect.name, now)
    rows = session.execute(
        pieces.joined(
            select(
                Shipment.id,
                Shipment.status,
                Shipment.created_at,
                pieces.gap_seconds.label("gap"),
                pieces.last_news.label("last_news"),
            ).where(Shipment.id.in_(list(shipment_ids)))
        )
    )
    return {
        row.id: judge(
            Status(row.status), row.created_at, row.last_news, timedelta(seconds=row.gap), now
        )
        for row in rows
    }


# --- analytics --------------------------------------------------------------------------------


class StaleGroupBy(StrEnum):
    CARRIER = "carrier"
    LANE = "lane"
    STAGE = "stage"


@dataclass(frozen=True, slots=True)
class StaleCount:
    group: str | None
    open: int
    stale: int


def stale_counts(
    session: Session, merchant_id: int, now: datetime, group_by: StaleGroupBy | None = None
) -> list[StaleCount]:
    """Open shipments and how many of them are stale now, overall or per group (most
    stale first)."""
    pieces = staleness(session.get_bind().dialect.name, now)
    keys: dict[StaleGroupBy, Any] = {
        StaleGroupBy.CARRIER: Shipment.carrier,
        StaleGroupBy.LANE: LANE,
        StaleGroupBy.STAGE: Shipment.status,
    }
    key = keys[group_by] if group_by else literal(None)
    stmt = pieces.joined(
        select(
            key.label("grp"),
            func.count().label("open"),
            func.sum(case((pieces.stale, 1), else_=0)).label("stale"),
        ).where(Shipment.merchant_id == merchant_id, Shipment.status.not_in(_TERMINAL))
    )
    if group_by:
        stmt = stmt.group_by(key)
    counts = [
        StaleCount(row.grp, int(row.open), int(row.stale or 0)) for row in session.execute(stmt)
    ]
    return sorted(counts, key=lambda c: (-c.stale, -c.open, c.group or ""))


SERVICE = BackgroundService("stale-thresholds", run)
