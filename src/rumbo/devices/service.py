"""Courier devices: registration, routes, the one path every position takes into
the database, the shopper's view of the courier, and retention.

OsmAnd HTTP and MQTT both parse into :class:`~rumbo.devices.positions.Position` and
call :func:`store_positions`, many positions per transaction. Per device, fixes are
judged in arrival order by :func:`~rumbo.devices.positions.accept_fix` against the
latest believable one, exactly as if they had come one by one: the track keeps what
is believable (flagged when it is not the latest), the latest position only moves
forward in time and never to an implausible place.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rumbo.devices.positions import Position, Verdict, accept_fix, haversine_m, public_position
from rumbo.devices.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceOut,
    DevicePositionOut,
    RouteOut,
    RouteStop,
)
from rumbo.errors import Conflict, NotFound
from rumbo.events.status import Status
from rumbo.kit.setwise import arrays, chunks, unnest
from rumbo.kit.topics import Topic
from rumbo.models import Device, DevicePosition, DeviceRoute, Order, Shipment

# A courier near a parcel that is already delivered, returned or cancelled is not news.
_FINISHED = frozenset({Status.DELIVERED, Status.RETURNED, Status.CANCELLED})


# --- devices and routes (the store's API) ---------------------------------------------


def new_device_id() -> str:
    """A device identifier nobody can guess: 128 random bits, as 32 hex digits (safe in
    a query string, a form field and an MQTT topic level)."""
    return secrets.token_hex(16)


def secret_hash(device_id: str) -> str:
    """What is kept of the identifier a device sends: its SHA-256, in hex. The
    identifier is random (or the store's own choice), so no salt or slow hash is needed
    to look it up by hash; the table alone does not give a working identifier."""
    return hashlib.sha256(device_id.encode()).hexdigest()


# A generated identifier's handle: its first 8 hex digits (32 bits), the other 96 secret.
_HANDLE_DIGITS = 8
_TAKEN = "This device_id cannot be used; leave it out and Rumbo generates one."


@dataclass(frozen=True, slots=True)
class Registered:
    device: Device
    secret: str  # what the device sends; shown once


def create_device(
    session: Session, merchant_id: int, body: DeviceCreate, now: datetime
) -> Registered:
    """Register a device under ``body.device_id``, or under a generated identifier when
    it is left out. Identifiers are unique across all merchants (a device sends nothing
    else), so a chosen one already taken is a 409 whoever holds it; a generated one
    never collides."""
    secret = body.device_id or new_device_id()
    handle = body.device_id or secret[:_HANDLE_DIGITS]
    if session.scalar(select(Device.id).where(Device.secret_hash == secret_hash(secret))):
        raise Conflict(_TAKEN, "device_exists")
    device = Device(
        merchant_id=merchant_id,
        device_id=handle,
        secret_hash=secret_hash(secret),
        name=body.name,
        created_at=now,
    )
    session.add(device)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # registered concurrently, or the handle is taken in this store
        raise Conflict(_TAKEN, "device_exists") from None
    return Registered(device, secret)


def rotate_device_id(session: Session, merchant_id: int, device_id: str) -> Registered:
    """Give the device a new generated identifier (and so a new handle); the old one
    stops working at once. Its positions, route and "arriving soon" facts stay."""
    device = get_device(session, merchant_id, device_id)
    secret = new_device_id()
    device.secret_hash = secret_hash(secret)
    device.device_id = secret[:_HANDLE_DIGITS]
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the new handle is taken in this store: a 1 in 2^32 chance
        raise Conflict("Rotation failed; try again.", "device_exists") from None
    return Registered(device, secret)


def list_devices(session: Session, merchant_id: int) -> list[Device]:
    return list(
        session.scalars(select(Device).where(Device.merchant_id == merchant_id).order_by(Device.id))
    )


def get_device(session: Session, merchant_id: int, device_id: str) -> Device:
    device = session.scalar(
        select(Device).where(Device.device_id == device_id, Device.merchant_id == merchant_id)
    )
    if device is None:
        raise NotFound("No device of yours has this device_id.", "unknown_device")
    return device


def device_out(device: Device) -> DeviceOut:
    position = None
    if device.lat is not None and device.lon is not None and device.recorded_at is not None:
        position = DevicePositionOut(
            lat=device.lat,
            lon=device.lon,
            recorded_at=device.recorded_at,
            speed_kmh=device.speed_kmh,
            heading=device.heading,
            accuracy_m=device.accuracy_m,
            battery=device.battery,
        )
    return DeviceOut(
        device_id=device.device_id,
        name=device.name,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
        position=position,
    )


def device_created(registered: Registered) -> DeviceCreated:
    out = device_out(registered.device)
    return DeviceCreated(**out.model_dump(), secret=registered.secret)


def set_route(
    session: Session, merchant_id: int, device_id: str, shipment_ids: Sequence[int], now: datetime
) -> RouteOut:
    """Make ``shipment_ids`` the device's whole route.

    Shipments already on it keep their assignment time and "arriving soon" fact; a
    shipment on another device moves here (a parcel has one courier at a time) and
    keeps its fact too, so the shopper is told once. A shipment that is not the
    merchant's is a 404, as if it did not exist.
    """
    device = get_device(session, merchant_id, device_id)
    wanted = list(dict.fromkeys(shipment_ids))
    found = set(
        session.scalars(
            select(Shipment.id).where(Shipment.merchant_id == merchant_id, Shipment.id.in_(wanted))
        )
    )
    missing = [sid for sid in wanted if sid not in found]
    if missing:
        raise NotFound(
            "No shipment of yours has these ids.", "unknown_shipment", {"shipment_ids": missing}
        )
    session.execute(
        delete(DeviceRoute).where(
            DeviceRoute.device_pk == device.id, DeviceRoute.shipment_id.not_in(wanted)
        )
    )
    current = {
        row.shipment_id: row
        for row in session.execute(
            select(DeviceRoute.id, DeviceRoute.shipment_id, DeviceRoute.device_pk).where(
                DeviceRoute.shipment_id.in_(wanted)
            )
        )
    }
    moved = [
        current[sid].id for sid in wanted if sid in current and current[sid].device_pk != device.id
    ]
    if moved:
        session.execute(
            update(DeviceRoute)
            .where(DeviceRoute.id.in_(moved))
            .values(device_pk=device.id, assigned_at=now)
        )
    new = [sid for sid in wanted if sid not in current]
    if new:
        session.execute(
            insert(DeviceRoute),
            [{"device_pk": device.id, "shipment_id": sid, "assigned_at": now} for sid in new],
        )
    session.flush()
    return route_of(session, device)


def route_of(session: Session, device: Device) -> RouteOut:
    rows = session.execute(
        select(
            DeviceRoute.shipment_id,
            DeviceRoute.assigned_at,
            DeviceRoute.arriving_soon_at,
            Shipment.order_id,
            Shipment.carrier,
            Shipment.tracking_number,
            Shipment.status,
            Order.tracking_code,
        )
        .join(Shipment, Shipment.id == DeviceRoute.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(DeviceRoute.device_pk == device.id)
        .order_by(DeviceRoute.id)
    )
    return RouteOut(
        device_id=device.device_id,
        stops=[
            RouteStop(
                shipment_id=row.shipment_id,
                order_id=row.order_id,
                tracking_code=row.tracking_code,
                carrier=row.carrier,
                tracking_number=row.tracking_number,
                status=Status(row.status),
                assigned_at=row.assigned_at,
                arriving_soon_at=row.arriving_soon_at,
            )
            for row in rows
        ],
    )


# --- positions (OsmAnd and MQTT) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArrivingSoon:
    """A courier came within ``RUMBO_ARRIVING_SOON_METERS`` of a shipment's destination
    (recorded once per shipment, in ``device_routes.arriving_soon_at``)."""

    merchant_id: int
    order_id: int
    shipment_id: int
    device_id: str
    at: datetime  # the fix's own time
    distance_m: float


@dataclass
class StoreOutcome:
    """What :func:`store_positions` did with each position, in input order."""

    verdicts: list[Verdict | None] = field(default_factory=list)  # None: unknown device
    unknown_devices: set[str] = field(default_factory=set)
    arriving_soon: list[ArrivingSoon] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(1 for v in self.verdicts if v is not None and v.store)


_DEVICES = cast(Table, Device.__table__)
_ROUTES = cast(Table, DeviceRoute.__table__)
_UPDATE_LATEST = (
    update(_DEVICES)
    .where(_DEVICES.c.id == bindparam("pk"))
    .values(
        last_seen_at=bindparam("seen"),
        lat=bindparam("lat"),
        lon=bindparam("lon"),
        recorded_at=bindparam("at"),
        speed_kmh=bindparam("speed"),
        heading=bindparam("course"),
        accuracy_m=bindparam("accuracy"),
        battery=bindparam("level"),
    )
)
_UPDATE_SEEN = (
    update(_DEVICES).where(_DEVICES.c.id == bindparam("pk")).values(last_seen_at=bindparam("seen"))
)
_MARK_ARRIVING = (
    update(_ROUTES)
    .where(and_(_ROUTES.c.id == bindparam("route_id"), _ROUTES.c.arriving_soon_at.is_(None)))
    .values(arriving_soon_at=bindparam("at"))
)


def _raw(position: Position) -> str:
    # Compact JSON of what the device itself sent (query parameters or JSON fields).
    return orjson.dumps(position.raw, default=str).decode()


# PostgreSQL: the track points and the devices' latest positions in one statement and
# one round trip, one array parameter per column (as rumbo.events.service writes events):
# the statement text never changes, and the server does the rows set-based.
_TRACK_COLUMNS = {
    "device_pk": "int[]",
    "recorded_at": "timestamptz[]",
    "lat": "float8[]",
    "lon": "float8[]",
    "speed_kmh": "float8[]",
    "heading": "float8[]",
    "accuracy_m": "float8[]",
    "battery": "float8[]",
    "flag": "text[]",
    "raw": "text[]",
}
_LATEST_COLUMNS = {
    "pk": "int[]",
    "seen": "timestamptz[]",
    "lat": "float8[]",
    "lon": "float8[]",
    "at": "timestamptz[]",
    "speed": "float8[]",
    "course": "float8[]",
    "accuracy": "float8[]",
    "level": "float8[]",
}


_PG_INSERT_TRACK = (
    f"INSERT INTO device_positions ({', '.join(_TRACK_COLUMNS)})"
    f" SELECT * FROM {unnest(_TRACK_COLUMNS)}"
)
_PG_UPDATE_LATEST = (
    "UPDATE devices AS d SET last_seen_at = u.seen, lat = u.lat, lon = u.lon,"
    " recorded_at = u.at, speed_kmh = u.speed, heading = u.course, accuracy_m = u.accuracy,"
    f" battery = u.level FROM {unnest(_LATEST_COLUMNS)} AS u({', '.join(_LATEST_COLUMNS)})"
    " WHERE d.id = u.pk"
)
_PG_WRITE_BOTH = f"WITH track AS ({_PG_INSERT_TRACK}) {_PG_UPDATE_LATEST}"


def _pg_write(conn: Connection, track: list[dict[str, Any]], latest: list[dict[str, Any]]) -> None:
    if not track and not latest:
        return
    if track and latest:
        sql, params = (
            _PG_WRITE_BOTH,
            arrays(track, _TRACK_COLUMNS) + arrays(latest, _LATEST_COLUMNS),
        )
    elif track:
        sql, params = _PG_INSERT_TRACK, arrays(track, _TRACK_COLUMNS)
    else:
        sql, params = _PG_UPDATE_LATEST, arrays(latest, _LATEST_COLUMNS)
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur:
        cur.execute(sql, params)


def _latest(row: Any) -> Position | None:
    if row.lat is None or row.lon is None or row.recorded_at is None:
        return None
    return Position(
        device_id=row.device_id,
        lat=row.lat,
        lon=row.lon,
        recorded_at=row.recorded_at,
        accuracy_m=row.accuracy_m,
    )


def store_positions(
    session: Session,
    positions: Sequence[Position],
    now: datetime,
    *,
    arriving_soon_meters: float,
) -> StoreOutcome:
    """Store ``positions`` from any source; only flushes, the caller commits.

    A position of an unregistered device is not stored (``verdicts`` holds ``None``
    for it). The devices touched are locked in id order on PostgreSQL (SQLite's write
    transaction already excludes other writers), so concurrent batches for the same
    device are judged one after the other against the true latest fix.
    """
    conn = session.connection()
    outcome = StoreOutcome()
    names = sorted({p.device_id for p in positions})
    # Devices are found by the hash of what they send (only the hash is stored).
    hashes = {name: secret_hash(name) for name in names}
    sent_as = {digest: name for name, digest in hashes.items()}
    devices: dict[str, Any] = {}
    for chunk in chunks(names):
        stmt = (
            select(
                Device.id,
                Device.device_id,
                Device.secret_hash,
                Device.merchant_id,
                Device.lat,
                Device.lon,
                Device.recorded_at,
                Device.accuracy_m,
                # Only a device carrying parcels not yet told "arriving soon" needs the
                # route lookup below: most batches skip that query.
                exists()
                .where(DeviceRoute.device_pk == Device.id, DeviceRoute.arriving_soon_at.is_(None))
                .label("carrying"),
            )
            .where(Device.secret_hash.in_([hashes[name] for name in chunk]))
            .order_by(Device.id)
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        devices.update({sent_as[row.secret_hash]: row for row in conn.execute(stmt)})

    latest: dict[int, Position | None] = {row.id: _latest(row) for row in devices.values()}
    moved: dict[int, Position] = {}
    seen: set[int] = set()
    rows: list[dict[str, Any]] = []
    fixes: list[tuple[int, Position]] = []  # fixes that became the latest, in order
    for position in positions:
        device = devices.get(position.device_id)
        if device is None:
            outcome.unknown_devices.add(position.device_id)
            outcome.verdicts.append(None)
            continue
        seen.add(device.id)
        verdict = accept_fix(latest[device.id], position, now)
        outcome.verdicts.append(verdict)
        if verdict.store:
            rows.append(
                {
                    "device_pk": device.id,
                    "recorded_at": position.recorded_at,
                    "lat": position.lat,
                    "lon": position.lon,
                    "speed_kmh": position.speed_kmh,
                    "heading": position.heading,
                    "accuracy_m": position.accuracy_m,
                    "battery": position.battery,
                    "flag": None if verdict.becomes_latest else verdict.reason.value,
                    "raw": _raw(position),
                }
            )
        if verdict.becomes_latest:
            latest[device.id] = moved[device.id] = position
            if device.carrying:
                fixes.append((device.id, position))

    latest_rows = [
        {
            "pk": pk,
            "seen": now,
            "lat": p.lat,
            "lon": p.lon,
            "at": p.recorded_at,
            "speed": p.speed_kmh,
            "course": p.heading,
            "accuracy": p.accuracy_m,
            "level": p.battery,
        }
        for pk, p in moved.items()
    ]
    if conn.dialect.name == "postgresql":
        _pg_write(conn, rows, latest_rows)
    else:
        if rows:
            conn.execute(insert(DevicePosition), rows)
        if latest_rows:
            conn.execute(_UPDATE_LATEST, latest_rows)
    idle = sorted(seen - moved.keys())
    if idle:
        conn.execute(_UPDATE_SEEN, [{"pk": pk, "seen": now} for pk in idle])
    if fixes:
        names_of = {row.id: row.device_id for row in devices.values()}
        outcome.arriving_soon = _arriving_soon(conn, fixes, names_of, arriving_soon_meters)
        if outcome.arriving_soon:
            react(session, outcome.arriving_soon, now)
    return outcome


def _arriving_soon(
    conn: Connection,
    fixes: Sequence[tuple[int, Position]],
    names_of: dict[int, str],
    meters: float,
) -> list[ArrivingSoon]:
    """Mark, once, the routes whose destination one of ``fixes`` came near."""
    pks = sorted({pk for pk, _ in fixes})
    routes: dict[int, list[Any]] = defaultdict(list)
    for chunk in chunks(pks):
        for row in conn.execute(
            select(
                DeviceRoute.id,
                DeviceRoute.device_pk,
                Shipment.id.label("shipment_id"),
                Shipment.status,
                Shipment.merchant_id,
                Order.id.label("order_id"),
                Order.destination,
            )
            .join(Shipment, Shipment.id == DeviceRoute.shipment_id)
            .join(Order, Order.id == Shipment.order_id)
            .where(DeviceRoute.device_pk.in_(chunk), DeviceRoute.arriving_soon_at.is_(None))
        ):
            if Status(row.status) in _FINISHED:
                continue
            lat, lon = row.destination.get("lat"), row.destination.get("lon")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                routes[row.device_pk].append((row, float(lat), float(lon)))
    facts: dict[int, ArrivingSoon] = {}
    for pk, fix in fixes:
        for row, lat, lon in routes.get(pk, ()):
            if row.id in facts:
                continue
            distance = haversine_m(fix.lat, fix.lon, lat, lon)
            if distance <= meters:
                facts[row.id] = ArrivingSoon(
                    merchant_id=row.merchant_id,
                    order_id=row.order_id,
                    shipment_id=row.shipment_id,
                    device_id=names_of[pk],
                    at=fix.recorded_at,
                    distance_m=round(distance, 1),
                )
    if facts:
        conn.execute(
            _MARK_ARRIVING, [{"route_id": rid, "at": fact.at} for rid, fact in facts.items()]
        )
    return list(facts.values())


@dataclass(frozen=True, slots=True)
class CouriersNear:
    """Stored positions brought couriers near these stops (each fact once per shipment)."""

    arriving_soon: Sequence[ArrivingSoon]
    now: datetime


# Notifications' outbox subscribes (rumbo.reactions), in the positions' transaction.
COURIERS_NEAR: Topic[CouriersNear] = Topic("devices.couriers_near")


def react(session: Session, arriving_soon: Sequence[ArrivingSoon], now: datetime) -> None:
    """Announce what must commit together with stored positions: ``arriving_soon`` facts
    were just recorded, as ``rumbo.events.service.react`` does for events."""
    COURIERS_NEAR.publish(session, CouriersNear(arriving_soon, now))


# --- the shopper's view -----------------------------------------------------------------


def courier_position(conn: Connection, shipment_ids: Sequence[int]) -> Position | None:
    """The freshest latest position among the devices carrying ``shipment_ids``, rounded
    for the public (``public_position``, ~100 m); ``None`` if none has a fix."""
    if not shipment_ids:
        return None
    row = conn.execute(
        select(Device.device_id, Device.lat, Device.lon, Device.recorded_at)
        .join(DeviceRoute, DeviceRoute.device_pk == Device.id)
        .where(DeviceRoute.shipment_id.in_(list(shipment_ids)), Device.recorded_at.is_not(None))
        .order_by(Device.recorded_at.desc())
        .limit(1)
    ).first()
    if row is None or row.lat is None or row.lon is None:
        return None
    return public_position(
        Position(device_id=row.device_id, lat=row.lat, lon=row.lon, recorded_at=row.recorded_at)
    )


# --- retention ----------------------------------------------------------------------------


def prune_positions(session: Session, older_than: datetime) -> int:
    """Delete track points recorded before ``older_than``; returns how many. Device by
    device, so each delete walks the (device, recorded_at) index instead of the table.
    The devices' latest positions are kept."""
    conn = session.connection()
    deleted = 0
    for pk in list(session.scalars(select(Device.id).order_by(Device.id))):
        result = conn.execute(
            delete(DevicePosition).where(
                DevicePosition.device_pk == pk, DevicePosition.recorded_at < older_than
            )
        )
        deleted += result.rowcount or 0
    return deleted
