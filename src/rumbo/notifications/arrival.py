"""The "arriving between …" notice: one when the day's route sets a parcel's window, and
an update only when the window moves materially.

The rule (:func:`next_notice`) is pure. :func:`enqueue_arrival_windows` applies it to
what planning announced (``rumbo.routes.announce``), in the planning transaction: the
notices already told are read back from the outbox itself (the payload keeps each
notice's window), so no other state is kept. Each notice is named by its number in
its idempotency key (``…:s<shipment>:d<day>:n<number>``): two plans racing for the
same update insert it once.

What counts as material, between the last window told and the new one:

- the two windows no longer overlap, or
- either bound moved by more than ``max(20 min, half the told window's width)``,

and at most :data:`MAX_UPDATES` updates follow the first notice in a day; a window
already told that day is never told again; nothing once the parcel is delivered or
a delivery attempt of the day failed. Quiet hours, the shopper's channels and
coalescing are the outbox's, as for any news.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from rumbo.events.status import Status
from rumbo.models import OutboxMessage, RouteDepot, RoutePlan, RouteStop, Shipment
from rumbo.notifications.message import Kind
from rumbo.notifications.outbox import COALESCE_WINDOW, News, enqueue_news
from rumbo.routes.announce import StopWindow, WindowsSet

MIN_SHIFT = timedelta(minutes=20)
MAX_UPDATES = 3  # after the first notice, per parcel and day
_OUTBOX = cast(Table, OutboxMessage.__table__)
_DONE = frozenset({Status.DELIVERED, Status.RETURNED, Status.CANCELLED})


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


def moved_materially(told: Window, new: Window) -> bool:
    """Whether ``new`` is worth telling a shopper who was told ``told`` (see the module)."""
    if new.start >= told.end or new.end <= told.start:
        return True
    threshold = max(MIN_SHIFT, (told.end - told.start) / 2)
    return abs(new.start - told.start) > threshold or abs(new.end - told.end) > threshold


def next_notice(told: Sequence[Window], new: Window, max_updates: int = MAX_UPDATES) -> int | None:
    """The number of the notice to send for ``new`` (0: the first), or ``None`` for none,
    given the windows ``told`` so far that day, in order."""
    if not told:
        return 0
    if len(told) > max_updates or new in told:
        return None
    return len(told) if moved_materially(told[-1], new) else None


def _attempted(status: str, status_at: datetime | None, stop: StopWindow) -> bool:
    """Delivered (or over), or a delivery attempt failed during this day's shift."""
    if status in _DONE:
        return True
    return (
        status == Status.DELIVERY_FAILED
        and status_at is not None
        and status_at >= stop.shift_starts_at
    )


def _told(session: Session, order_ids: Sequence[int], day: date) -> dict[int, dict[int, Window]]:
    """Each shipment's notices of ``day`` already in the outbox: number → window."""
    found: dict[int, dict[int, Window]] = defaultdict(dict)
    rows = session.execute(
        select(_OUTBOX.c.payload).where(
            _OUTBOX.c.order_id.in_(list(order_ids)),
            _OUTBOX.c.kind == Kind.ARRIVAL_WINDOW.value,
        )
    )
    for (payload,) in rows:
        if payload.get("day") != day.isoformat():
            continue
        found[int(payload["shipment_id"])][int(payload["notice"])] = Window(
            datetime.fromisoformat(payload["window_start"]),
            datetime.fromisoformat(payload["window_end"]),
        )
    return found


def _payload(
    stop: StopWindow, status: str, day: date, notice: int, now: datetime
) -> dict[str, Any]:
    return {
        "status": status,
        "status_at": now.isoformat(),
        "shipment_id": stop.shipment_id,
        "day": day.isoformat(),
        "stop": stop.number,
        "stops": stop.stops,
        "window_start": stop.start.isoformat(),
        "window_end": stop.end.isoformat(),
        "notice": notice,
    }


def enqueue_arrival_windows(
    session: Session, news: WindowsSet, *, window: timedelta = COALESCE_WINDOW
) -> int:
    """Write the notices the rule asks for the windows ``news`` set; only flushes.

    Returns how many outbox rows were inserted.
    """
    stops = list(news.stops)
    if not stops:
        return 0
    states = {
        row.id: row
        for row in session.execute(
            select(Shipment.id, Shipment.status, Shipment.status_at).where(
                Shipment.id.in_([s.shipment_id for s in stops])
            )
        )
    }
    told = _told(session, sorted({s.order_id for s in stops}), news.day)
    wanted: list[News] = []
    for stop in stops:
        state = states.get(stop.shipment_id)
        if state is None or _attempted(state.status, state.status_at, stop):
            continue
        notices = told.get(stop.shipment_id, {})
        number = next_notice([notices[n] for n in sorted(notices)], Window(stop.start, stop.end))
        if number is None:
            continue
        wanted.append(
            News(
                stop.order_id,
                Kind.ARRIVAL_WINDOW,
                _payload(stop, Status(state.status).value, news.day, number, news.now),
                occasion=f"s{stop.shipment_id}:d{news.day.isoformat()}:n{number}",
            )
        )
    return enqueue_news(session, news.merchant_id, wanted, news.now, window=window)


def on_planned_route(session: Session, sightings: Sequence[tuple[int, datetime]]) -> set[int]:
    """The shipments among ``sightings`` (shipment id, when) that are on a route planned
    for that local day: their arrival-window notice replaces "arriving soon"."""
    if not sightings:
        return set()
    planned: dict[int, set[tuple[date, str]]] = defaultdict(set)
    for shipment_id, day, zone in session.execute(
        select(RouteStop.shipment_id, RoutePlan.day, RouteDepot.timezone)
        .join(RoutePlan, RoutePlan.id == RouteStop.plan_id)
        .join(RouteDepot, RouteDepot.id == RoutePlan.depot_id)
        .where(RouteStop.shipment_id.in_(sorted({s for s, _ in sightings})))
    ):
        planned[shipment_id].add((day, zone))
    return {
        shipment_id
        for shipment_id, at in sightings
        if any(at.astimezone(ZoneInfo(zone)).date() == day for day, zone in planned[shipment_id])
    }
