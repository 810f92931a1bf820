"""Routes: depots, planning a depot's day, re-planning, and the plan as the store sees it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.events.status import Status
from rumbo.models import (
    Device,
    DevicePosition,
    Order,
    RouteDepot,
    RoutePlan,
    RouteShift,
    RouteStop,
    Shipment,
)
from rumbo.routes.announce import WINDOWS_SET, StopWindow, WindowsSet
from rumbo.routes.planning import Courier, DayPlan, Parcel, plan_day, timeline, window_for
from rumbo.routes.schemas import (
    CourierOut,
    DepotCreate,
    DepotOut,
    NotRoutable,
    PlanCreate,
    PlanOut,
    StopOut,
    TravelOut,
)
from rumbo.routes.travel import Fix, TravelModel, learn

# Parcels a courier of the store can take today: handed over, on the way, or to retry.
ROUTABLE = (Status.SHIPPED, Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED)
_TRACK_DAYS = 28
_TRACK_LIMIT = 200_000


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RumboError(
            "Unknown time zone.", 422, "invalid_timezone", {"timezone": name}
        ) from None


# --- depots -----------------------------------------------------------------------------


def create_depot(
    session: Session, merchant_id: int, body: DepotCreate, now: datetime
) -> RouteDepot:
    _zone(body.timezone)
    taken = select(RouteDepot.id).where(
        RouteDepot.merchant_id == merchant_id, RouteDepot.name == body.name
    )
    if session.scalar(taken) is not None:
        raise Conflict("You already have a depot with this name.", "depot_exists")
    depot = RouteDepot(
        merchant_id=merchant_id,
        name=body.name,
        lat=body.lat,
        lon=body.lon,
        timezone=body.timezone,
        created_at=now,
    )
    session.add(depot)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("You already have a depot with this name.", "depot_exists") from None
    return depot


def depot_out(depot: RouteDepot) -> DepotOut:
    return DepotOut(
        id=depot.id, name=depot.name, lat=depot.lat, lon=depot.lon, timezone=depot.timezone
    )


def list_depots(session: Session, merchant_id: int) -> list[RouteDepot]:
    query = select(RouteDepot).where(RouteDepot.merchant_id == merchant_id).order_by(RouteDepot.id)
    return list(session.scalars(query))


def _depot(session: Session, merchant_id: int, depot_id: int) -> RouteDepot:
    depot = session.get(RouteDepot, depot_id)
    if depot is None or depot.merchant_id != merchant_id:
        raise NotFound("No such depot.", "depot_not_found")
    return depot


# --- travel times -----------------------------------------------------------------------


def learn_travel(session: Session, merchant_id: int, zone: ZoneInfo, now: datetime) -> TravelModel:
    """Fit the travel model on the merchant's devices' believable fixes of the last weeks;
    one track per device and local day."""
    rows = session.execute(
        select(
            DevicePosition.device_pk,
            DevicePosition.recorded_at,
            DevicePosition.lat,
            DevicePosition.lon,
        )
        .join(Device, Device.id == DevicePosition.device_pk)
        .where(
            Device.merchant_id == merchant_id,
            DevicePosition.flag.is_(None),
            DevicePosition.recorded_at >= now - timedelta(days=_TRACK_DAYS),
        )
        .order_by(DevicePosition.device_pk, DevicePosition.recorded_at)
        .limit(_TRACK_LIMIT)
    )
    tracks: dict[tuple[int, date], list[Fix]] = defaultdict(list)
    for device_pk, recorded_at, lat, lon in rows:
        local = recorded_at.astimezone(zone)
        tracks[(device_pk, local.date())].append(Fix(local, lat, lon))
    return learn([tracks[key] for key in sorted(tracks)])


# --- plans ------------------------------------------------------------------------------


def _devices(session: Session, merchant_id: int, identifiers: list[str]) -> dict[str, Device]:
    found = {
        d.device_id: d
        for d in session.scalars(
            select(Device).where(
                Device.merchant_id == merchant_id, Device.device_id.in_(identifiers)
            )
        )
    }
    unknown = sorted(set(identifiers) - set(found))
    if unknown:
        raise NotFound(
            "Some devices are not registered to you.", "unknown_devices", {"device_ids": unknown}
        )
    return found


def _candidates(
    session: Session, merchant_id: int, day: date, shipment_ids: list[int] | None
) -> list[tuple[Shipment, Order]]:
    query = (
        select(Shipment, Order)
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.merchant_id == merchant_id)
        .order_by(Shipment.id)
    )
    if shipment_ids is not None:
        chosen = query.where(Shipment.id.in_(set(shipment_ids)))
        rows = [(s, o) for s, o in session.execute(chosen)]
        unknown = sorted(set(shipment_ids) - {s.id for s, _ in rows})
        if unknown:
            raise NotFound(
                "Some shipments are not yours.", "unknown_shipments", {"shipment_ids": unknown}
            )
        return rows
    planned_today = (
        select(RouteStop.shipment_id)
        .join(RoutePlan, RoutePlan.id == RouteStop.plan_id)
        .where(RoutePlan.merchant_id == merchant_id, RoutePlan.day == day)
    )
    query = query.where(Shipment.status.in_(ROUTABLE), Shipment.id.not_in(planned_today))
    return [(a, b) for a, b in session.execute(query)]


def _coordinates(order: Order) -> tuple[float, float] | None:
    lat, lon = order.destination.get("lat"), order.destination.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon)
    return None


def _write_stops(
    session: Session,
    plan: RoutePlan,
    result: DayPlan,
    shift_of: dict[int, RouteShift],
    first_sequence: dict[int, int],
    locked: set[int],
) -> None:
    for key, visits in result.routes.items():
        for offset, visit in enumerate(visits):
            start, end = window_for(visit.arrival)
            session.add(
                RouteStop(
                    plan_id=plan.id,
                    shift_id=shift_of[key].id,
                    shipment_id=visit.parcel,
                    sequence=first_sequence.get(key, 1) + offset,
                    planned_at=visit.arrival,
                    window_start=start,
                    window_end=end,
                    locked=visit.parcel in locked,
                )
            )


def create_plan(
    session: Session, merchant_id: int, body: PlanCreate, now: datetime, seconds: float = 5.0
) -> tuple[RoutePlan, bool]:
    """The depot's plan for the day; an existing one is returned unchanged (``False``)."""
    depot = _depot(session, merchant_id, body.depot_id)
    existing = session.scalar(
        select(RoutePlan).where(RoutePlan.depot_id == depot.id, RoutePlan.day == body.day)
    )
    if existing is not None:
        return existing, False
    devices = _devices(session, merchant_id, [s.device_id for s in body.shifts])
    zone = _zone(depot.timezone)
    travel = learn_travel(session, merchant_id, zone, now)
    plan = RoutePlan(
        merchant_id=merchant_id,
        depot_id=depot.id,
        day=body.day,
        travel=travel.as_dict(),
        not_routable=[],
        service_seconds=body.service_seconds,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # planned concurrently: the other request's plan is the plan
        session.expire_all()
        winner = session.scalar(
            select(RoutePlan).where(RoutePlan.depot_id == depot.id, RoutePlan.day == body.day)
        )
        if winner is None:
            raise
        return winner, False
    shifts = []
    for shift in body.shifts:
        row = RouteShift(
            plan_id=plan.id,
            device_pk=devices[shift.device_id].id,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            capacity=shift.capacity,
        )
        shifts.append(row)
        session.add(row)
    session.flush()
    candidates = _candidates(session, merchant_id, body.day, body.shipment_ids)
    parcels, not_routable = _parcels(candidates, body.service_seconds)
    couriers = [Courier(s.id, s.starts_at, s.ends_at, s.capacity) for s in shifts]
    result = plan_day((depot.lat, depot.lon), couriers, parcels, travel, zone, seconds)
    order_of = {shipment.id: order.id for shipment, order in candidates}
    plan.not_routable = not_routable + _left_out(result, order_of)
    _write_stops(session, plan, result, {s.id: s for s in shifts}, {}, set())
    session.flush()
    _announce(session, plan, now)
    return plan, True


def _parcels(
    candidates: list[tuple[Shipment, Order]], service_seconds: int
) -> tuple[list[Parcel], list[dict[str, object]]]:
    parcels: list[Parcel] = []
    not_routable: list[dict[str, object]] = []
    for shipment, order in candidates:
        place = _coordinates(order)
        if place is None:
            not_routable.append(
                {"shipment_id": shipment.id, "order_id": order.id, "reason": "no_coordinates"}
            )
        else:
            parcels.append(Parcel(shipment.id, place[0], place[1], service_seconds))
    return parcels, not_routable


def _left_out(result: DayPlan, order_of: dict[int, int]) -> list[dict[str, object]]:
    return [
        {"shipment_id": key, "order_id": order_of[key], "reason": "no_courier_fits"}
        for key in result.unassigned
    ]


def get_plan(session: Session, merchant_id: int, plan_id: int) -> RoutePlan:
    plan = session.get(RoutePlan, plan_id)
    if plan is None or plan.merchant_id != merchant_id:
        raise NotFound("No such plan.", "plan_not_found")
    return plan


def _stops_of(session: Session, plan: RoutePlan) -> list[tuple[RouteStop, Order]]:
    query = (
        select(RouteStop, Order)
        .join(Shipment, Shipment.id == RouteStop.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(RouteStop.plan_id == plan.id)
        .order_by(RouteStop.shift_id, RouteStop.sequence)
    )
    return [(a, b) for a, b in session.execute(query)]


def shifts_of(session: Session, plan: RoutePlan) -> list[tuple[RouteShift, Device]]:
    query = (
        select(RouteShift, Device)
        .join(Device, Device.id == RouteShift.device_pk)
        .where(RouteShift.plan_id == plan.id)
        .order_by(RouteShift.id)
    )
    return [(shift, device) for shift, device in session.execute(query)]


def plan_out(session: Session, plan: RoutePlan) -> PlanOut:
    shifts = shifts_of(session, plan)
    stops: dict[int, list[StopOut]] = defaultdict(list)
    for stop, order in _stops_of(session, plan):
        lat, lon = _coordinates(order) or (0.0, 0.0)
        stops[stop.shift_id].append(
            StopOut(
                sequence=stop.sequence,
                shipment_id=stop.shipment_id,
                order_id=order.id,
                lat=lat,
                lon=lon,
                planned_at=stop.planned_at,
                window_start=stop.window_start,
                window_end=stop.window_end,
                locked=stop.locked,
                delivered_at=stop.delivered_at,
            )
        )
    return PlanOut(
        id=plan.id,
        depot_id=plan.depot_id,
        day=plan.day,
        revision=plan.revision,
        couriers=[
            CourierOut(
                device_id=device.device_id,
                name=device.name,
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                capacity=shift.capacity,
                stops=stops[shift.id],
            )
            for shift, device in shifts
        ],
        not_routable=[NotRoutable.model_validate(item) for item in plan.not_routable],
        travel=TravelOut.model_validate(plan.travel),
    )


def set_locked(
    session: Session, merchant_id: int, plan_id: int, shipment_id: int, locked: bool
) -> RoutePlan:
    plan = get_plan(session, merchant_id, plan_id)
    stop = session.scalar(
        select(RouteStop).where(RouteStop.plan_id == plan.id, RouteStop.shipment_id == shipment_id)
    )
    if stop is None:
        raise NotFound("This shipment is not on the plan.", "stop_not_found")
    stop.locked = locked
    session.flush()
    return plan


def replan(
    session: Session, merchant_id: int, plan_id: int, now: datetime, seconds: float = 5.0
) -> RoutePlan:
    """Plan the rest of the day again from where each courier is: delivered stops stay
    as they were, locked ones stay with their courier, the rest may move."""
    plan = get_plan(session, merchant_id, plan_id)
    depot = session.get_one(RouteDepot, plan.depot_id)
    zone = _zone(depot.timezone)
    travel = TravelModel.from_dict(plan.travel)
    shifts = shifts_of(session, plan)
    rows = _stops_of(session, plan)
    shipments = select(Shipment.id, Shipment.status, Shipment.status_at).where(
        Shipment.id.in_([stop.shipment_id for stop, _ in rows])
    )
    delivered = {
        shipment_id: at or now
        for shipment_id, status, at in session.execute(shipments)
        if status == Status.DELIVERED
    }
    kept: dict[int, int] = defaultdict(int)
    parcels: list[Parcel] = []
    locked: set[int] = set()
    order_of: dict[int, int] = {}
    for stop, order in rows:
        order_of[stop.shipment_id] = order.id
        if stop.delivered_at is None and stop.shipment_id in delivered:
            stop.delivered_at = delivered[stop.shipment_id]
        if stop.delivered_at is not None:
            kept[stop.shift_id] = max(kept[stop.shift_id], stop.sequence)
            continue
        place = _coordinates(order)
        if place is None:
            continue
        pinned = stop.shift_id if stop.locked else None
        if stop.locked:
            locked.add(stop.shipment_id)
        parcels.append(Parcel(stop.shipment_id, place[0], place[1], plan.service_seconds, pinned))
    session.execute(
        delete(RouteStop).where(RouteStop.plan_id == plan.id, RouteStop.delivered_at.is_(None))
    )
    session.flush()
    couriers = []
    for shift, device in shifts:
        moving = kept[shift.id] > 0 or now > shift.starts_at
        start = (
            (device.lat, device.lon)
            if moving and device.lat is not None and device.lon is not None
            else None
        )
        couriers.append(
            Courier(
                shift.id,
                max(shift.starts_at, now),
                max(shift.ends_at, now),
                shift.capacity - kept[shift.id],
                start,
            )
        )
    couriers = [c for c in couriers if c.capacity > 0]
    result = plan_day((depot.lat, depot.lon), couriers, parcels, travel, zone, seconds)
    first = {key: kept[key] + 1 for key in kept}
    _write_stops(session, plan, result, {s.id: s for s, _ in shifts}, first, locked)
    plan.not_routable = [
        item for item in plan.not_routable if item["reason"] == "no_coordinates"
    ] + _left_out(result, order_of)
    plan.revision += 1
    plan.updated_at = now
    session.flush()
    _announce(session, plan, now)
    return plan


def move_stop(
    session: Session, merchant_id: int, plan_id: int, shipment_id: int, earlier: bool, now: datetime
) -> RoutePlan:
    """Swap a stop with its neighbour on the same courier's day (delivered stops stay put)
    and recompute that courier's planned times and windows."""
    plan = get_plan(session, merchant_id, plan_id)
    stop = session.scalar(
        select(RouteStop).where(RouteStop.plan_id == plan.id, RouteStop.shipment_id == shipment_id)
    )
    if stop is None:
        raise NotFound("This shipment is not on the plan.", "stop_not_found")
    route = [s for s, _ in _stops_of(session, plan) if s.shift_id == stop.shift_id]
    at = route.index(stop)
    other = at - 1 if earlier else at + 1
    if 0 <= other < len(route) and stop.delivered_at is None and route[other].delivered_at is None:
        stop.sequence, route[other].sequence = route[other].sequence, stop.sequence
        session.flush()
        _retime(session, plan, stop.shift_id)
        session.flush()
        _announce(session, plan, now)
    plan.updated_at = now
    session.flush()
    return plan


def _announce(session: Session, plan: RoutePlan, now: datetime) -> None:
    """Publish the windows of the plan's stops still to deliver (see ``routes.announce``)."""
    totals: dict[int, int] = {
        shift_id: top
        for shift_id, top in session.execute(
            select(RouteStop.shift_id, func.max(RouteStop.sequence))
            .where(RouteStop.plan_id == plan.id)
            .group_by(RouteStop.shift_id)
        )
    }
    rows = session.execute(
        select(
            Shipment.order_id,
            RouteStop.shipment_id,
            RouteStop.shift_id,
            RouteStop.sequence,
            RouteStop.window_start,
            RouteStop.window_end,
            RouteShift.starts_at,
        )
        .join(Shipment, Shipment.id == RouteStop.shipment_id)
        .join(RouteShift, RouteShift.id == RouteStop.shift_id)
        .where(RouteStop.plan_id == plan.id, RouteStop.delivered_at.is_(None))
        .order_by(RouteStop.shift_id, RouteStop.sequence)
    )
    stops = [
        StopWindow(
            order_id=row.order_id,
            shipment_id=row.shipment_id,
            number=row.sequence,
            stops=totals[row.shift_id],
            start=row.window_start,
            end=row.window_end,
            shift_starts_at=row.starts_at,
        )
        for row in rows
    ]
    if stops:
        WINDOWS_SET.publish(session, WindowsSet(plan.merchant_id, plan.id, plan.day, stops, now))


def _retime(session: Session, plan: RoutePlan, shift_id: int) -> None:
    depot = session.get_one(RouteDepot, plan.depot_id)
    shift = session.get_one(RouteShift, shift_id)
    rows = [(s, o) for s, o in _stops_of(session, plan) if s.shift_id == shift_id]
    open_rows = [(s, o) for s, o in rows if s.delivered_at is None and _coordinates(o)]
    parcels = []
    for s, o in open_rows:
        lat, lon = _coordinates(o) or (0.0, 0.0)
        parcels.append(Parcel(s.shipment_id, lat, lon, plan.service_seconds))
    courier = Courier(shift.id, shift.starts_at, shift.ends_at, shift.capacity)
    travel = TravelModel.from_dict(plan.travel)
    visits = timeline((depot.lat, depot.lon), courier, parcels, travel, _zone(depot.timezone))
    for (stop, _), visit in zip(open_rows, visits, strict=True):
        stop.planned_at = visit.arrival
        stop.window_start, stop.window_end = window_for(visit.arrival)


def list_plans(session: Session, merchant_id: int, limit: int = 60) -> list[RoutePlan]:
    query = (
        select(RoutePlan)
        .where(RoutePlan.merchant_id == merchant_id)
        .order_by(RoutePlan.day.desc(), RoutePlan.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def tracks_of(session: Session, plan: RoutePlan) -> dict[int, list[tuple[float, float]]]:
    """Each shift's recorded track during its hours (believable fixes only)."""
    tracks: dict[int, list[tuple[float, float]]] = {}
    for shift, _device in shifts_of(session, plan):
        rows = session.execute(
            select(DevicePosition.lat, DevicePosition.lon)
            .where(
                DevicePosition.device_pk == shift.device_pk,
                DevicePosition.flag.is_(None),
                DevicePosition.recorded_at >= shift.starts_at,
                DevicePosition.recorded_at <= shift.ends_at,
            )
            .order_by(DevicePosition.recorded_at)
            .limit(5000)
        )
        tracks[shift.id] = [(lat, lon) for lat, lon in rows]
    return tracks
