"""The live arrival window of a parcel on a planned route, from the courier's real progress.

Read on a plain connection (the tracking page's path): the plan's stops, the courier's
latest believable fix, the learnt travel model; nothing is written. :func:`live_windows`
gathers them for every shift under way, for the worker to announce (``routes.tasks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from rumbo.events.status import Status
from rumbo.models import Device, Order, RouteDepot, RoutePlan, RouteShift, RouteStop, Shipment
from rumbo.routes.announce import StopWindow, WindowsSet
from rumbo.routes.planning import Courier, Parcel, live_window, timeline
from rumbo.routes.travel import TravelModel


@dataclass(frozen=True)
class StopArrival:
    """Stop ``number`` of ``stops`` on the courier's day, expected between ``start`` and ``end``."""

    shipment_id: int
    number: int
    stops: int
    start: datetime
    end: datetime


def _attempted(status: str, status_at: datetime | None, shift_start: datetime) -> bool:
    """Done for the day: delivered, or a delivery attempt that failed during this shift
    (the courier has moved on; a failure from an earlier day is still to be tried)."""
    if status == Status.DELIVERED:
        return True
    return status == Status.DELIVERY_FAILED and status_at is not None and status_at >= shift_start


def shipment_arrival(conn: Connection, shipment_ids: Sequence[int]) -> StopArrival | None:
    """The window of the first of ``shipment_ids`` the courier will reach; ``None`` when
    none is on a plan still to be delivered."""
    if not shipment_ids:
        return None
    stop = conn.execute(
        select(
            RouteStop.shift_id,
            RouteStop.shipment_id,
            RouteStop.sequence,
            RouteStop.planned_at,
            RouteStop.window_start,
            RouteStop.window_end,
            RoutePlan.travel,
            RoutePlan.service_seconds,
            RouteDepot.timezone,
        )
        .join(RoutePlan, RoutePlan.id == RouteStop.plan_id)
        .join(RouteDepot, RouteDepot.id == RoutePlan.depot_id)
        .join(Shipment, Shipment.id == RouteStop.shipment_id)
        .where(
            RouteStop.shipment_id.in_(list(shipment_ids)),
            RouteStop.delivered_at.is_(None),
            Shipment.status.not_in((Status.DELIVERED, Status.RETURNED, Status.CANCELLED)),
        )
        .order_by(RoutePlan.day.desc(), RouteStop.sequence)
        .limit(1)
    ).first()
    if stop is None:
        return None
    route = conn.execute(
        select(
            RouteStop.sequence,
            RouteStop.shipment_id,
            Order.destination,
            Shipment.status,
            Shipment.status_at,
        )
        .join(Shipment, Shipment.id == RouteStop.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(RouteStop.shift_id == stop.shift_id, RouteStop.delivered_at.is_(None))
        .order_by(RouteStop.sequence)
    ).all()
    total = conn.execute(
        select(RouteStop.sequence)
        .where(RouteStop.shift_id == stop.shift_id)
        .order_by(RouteStop.sequence.desc())
        .limit(1)
    ).scalar_one()
    courier = conn.execute(
        select(RouteShift.starts_at, Device.lat, Device.lon, Device.recorded_at)
        .join(Device, Device.id == RouteShift.device_pk)
        .where(RouteShift.id == stop.shift_id)
    ).one()
    planned = StopArrival(
        stop.shipment_id, stop.sequence, total, stop.window_start, stop.window_end
    )
    if (
        courier.recorded_at is None
        or courier.lat is None
        or courier.recorded_at < courier.starts_at
    ):
        return planned  # not on the road yet: the plan's own window
    ahead = [
        Parcel(r.shipment_id, r.destination["lat"], r.destination["lon"], stop.service_seconds)
        for r in route
        if r.sequence <= stop.sequence
        and not _attempted(r.status, r.status_at, courier.starts_at)
        and isinstance(r.destination.get("lat"), int | float)
        and isinstance(r.destination.get("lon"), int | float)
    ]
    if not ahead or ahead[-1].key != stop.shipment_id:
        return planned
    position = (courier.lat, courier.lon)
    travel = TravelModel.from_dict(stop.travel)
    visits = timeline(
        position,
        Courier(0, courier.recorded_at, courier.recorded_at + timedelta(days=1), len(ahead)),
        ahead,
        travel,
        ZoneInfo(stop.timezone),
    )
    start, end = live_window(visits[-1].arrival, courier.recorded_at, travel.heldout_mape)
    return StopArrival(stop.shipment_id, stop.sequence, total, start, end)


def live_windows(conn: Connection, now: datetime) -> list[WindowsSet]:
    """The live window of every stop still to deliver on a courier's shift under way at
    ``now``, one :class:`WindowsSet` per plan (what the tracking page would show now)."""
    rows = conn.execute(
        select(
            RoutePlan.id,
            RoutePlan.merchant_id,
            RoutePlan.day,
            RouteStop.shipment_id,
            Shipment.order_id,
            RouteShift.starts_at,
        )
        .join(RoutePlan, RoutePlan.id == RouteStop.plan_id)
        .join(RouteShift, RouteShift.id == RouteStop.shift_id)
        .join(Shipment, Shipment.id == RouteStop.shipment_id)
        .where(
            RouteShift.starts_at <= now,
            RouteShift.ends_at >= now,
            RouteStop.delivered_at.is_(None),
            Shipment.status.not_in((Status.DELIVERED, Status.RETURNED, Status.CANCELLED)),
        )
        .order_by(RoutePlan.id, RouteStop.shift_id, RouteStop.sequence)
    ).all()
    plans: dict[int, WindowsSet] = {}
    for row in rows:
        arrival = shipment_arrival(conn, [row.shipment_id])
        if arrival is None or arrival.shipment_id != row.shipment_id:
            continue
        stop = StopWindow(
            order_id=row.order_id,
            shipment_id=row.shipment_id,
            number=arrival.number,
            stops=arrival.stops,
            start=arrival.start,
            end=arrival.end,
            shift_starts_at=row.starts_at,
        )
        known = plans.get(row.id)
        stops = [*known.stops, stop] if known else [stop]
        plans[row.id] = WindowsSet(row.merchant_id, row.id, row.day, stops, now)
    return list(plans.values())
