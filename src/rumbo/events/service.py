"""Event ingestion: the one path every source's events take into Rumbo.

REST calls, carrier and aggregator webhooks, device positions, CSV imports and the
demo store all turn what they receive into :class:`NormalizedEvent` and call
:func:`ingest`. In one transaction it resolves each event's order or shipment,
stores the events idempotently, then locks the orders that got new events (in id
order, so concurrent batches cannot deadlock) and folds their status keys into the
orders' and shipments' stored maxima (see ``rumbo.events.status``). On PostgreSQL the
locks come last, so that concurrent writers on common orders wait for each other's
fold, not for each other's whole batch; a batch that names parcels, which may
register one, locks its orders first.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import any_

from rumbo.events.pipeline import Ingested, StatusChange, publish
from rumbo.events.schemas import EventIn, EventResult, ItemError
from rumbo.events.status import Status, StatusKey, derive_order_status, latest
from rumbo.kit.codes import CodeError, parse_tracking_code
from rumbo.kit.setwise import among, arrays, chunks, pg_update, read_together, unnest
from rumbo.models import Event, Order, Shipment

# A carrier may scan a parcel a little before the store registers the shipment.
SHIPMENT_GRACE = timedelta(days=3)
# How far ahead of the server's clock an event may be dated (``RUMBO_MAX_CLOCK_SKEW_SECONDS``).
# Servers kept by NTP agree within a second, but carriers' hand-held scanners and
# couriers' phones upload with their own clocks, minutes off; beyond that, a future date
# is a mistake (a mistyped year, local time sent as UTC) that would otherwise hold the
# status until the date passes.
MAX_CLOCK_SKEW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """An event in Rumbo's terms, whatever system it came from."""

    source: str
    event_id: str
    status: Status | None
    occurred_at: datetime
    raw: str
    tracking_code: str | None = None
    external_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    code: str | None = None
    description: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None


def normalize_event(item: EventIn, original: Any) -> NormalizedEvent:
    """An event in Rumbo's event shape (REST body, CSV row) as ingestion takes it; the
    original is kept as the raw payload unless the item carries its own ``raw``."""
    raw = item.raw if item.raw is not None else original
    place = item.location
    return NormalizedEvent(
        source=item.source,
        event_id=item.event_id,
        status=item.status,
        occurred_at=item.occurred_at,
        raw=orjson.dumps(raw).decode(),
        tracking_code=item.tracking_code,
        external_id=item.external_id,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        description=item.description,
        city=place.city if place else None,
        state=place.state if place else None,
        country=place.country if place else None,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
    )


@dataclass
class IngestOutcome:
    results: list[EventResult] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)


def _reject(
    index: int, event: NormalizedEvent, code: str, message: str, details: Any = None
) -> EventResult:
    return EventResult(
        index=index,
        event_id=event.event_id,
        outcome="rejected",
        error=ItemError(code=code, message=message, details=details),
    )


def _in_the_future(index: int, event: NormalizedEvent, limit: datetime) -> EventResult:
    seconds = int((event.occurred_at - limit).total_seconds())
    return _reject(
        index,
        event,
        "occurred_in_future",
        f"occurred_at {event.occurred_at.isoformat()} is ahead of the server's clock by more"
        f" than the tolerance; events dated after {limit.isoformat()} are refused.",
        {"latest_accepted": limit.isoformat(), "beyond_by_seconds": seconds},
    )


# What makes two events with the same (source, event_id) the same event: what it applies
# to and what it says. The raw payload is not compared: a retry may wrap the same event
# in an envelope with its own delivery time.
_CONTENT = (
    "status",
    "occurred_at",
    "code",
    "description",
    "city",
    "state",
    "country",
    "lat",
    "lon",
)


def _content(event: NormalizedEvent | Any) -> tuple[Any, ...]:
    values = [getattr(event, name) for name in _CONTENT]
    status = values[0]
    values[0] = status.value if isinstance(status, Status) else status
    return tuple(values)


def _differences(
    event: NormalizedEvent, order_id: int, shipment_id: int | None, stored: Any
) -> list[str]:
    fields = [
        name
        for name, mine, theirs in zip(_CONTENT, _content(event), _content(stored), strict=True)
        if mine != theirs
    ]
    if stored.order_id != order_id:
        fields.insert(0, "order")
    elif stored.shipment_id != shipment_id:
        fields.insert(0, "shipment")
    return fields


def _conflict(index: int, event: NormalizedEvent, stored_id: int, fields: list[str]) -> EventResult:
    return _reject(
        index,
        event,
        "conflict",
        f"Event {event.source}:{event.event_id} was stored before with a different"
        f" {', '.join(fields)}; only an identical event is a duplicate.",
        {"id": stored_id, "differs_in": fields},
    )


# Column -> PostgreSQL array type, for set-based writes through unnest().
_EVENT_COLUMNS = {
    "merchant_id": "int[]",
    "order_id": "int[]",
    "shipment_id": "int[]",
    "source": "text[]",
    "event_id": "text[]",
    "status": "text[]",
    "occurred_at": "timestamptz[]",
    "received_at": "timestamptz[]",
    "code": "text[]",
    "description": "text[]",
    "city": "text[]",
    "state": "text[]",
    "country": "text[]",
    "lat": "float8[]",
    "lon": "float8[]",
    "raw": "text[]",
}
_KEY_COLUMNS = {
    "own_status": "text[]",
    "own_status_at": "timestamptz[]",
    "own_status_tiebreak": "text[]",
    "status": "text[]",
    "status_at": "timestamptz[]",
}
_ORDER_COLUMNS = _KEY_COLUMNS | {
    "version": "int[]",
    "shipments_total": "int[]",
    "shipments_delivered": "int[]",
    "last_event_at": "timestamptz[]",
    "updated_at": "timestamptz[]",
}


# One statement per batch whatever its size, with one array parameter per column:
# PostgreSQL plans it once and does the work set-based.
_PG_INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) SELECT * FROM {unnest(_EVENT_COLUMNS)}"
    " ON CONFLICT (merchant_id, source, event_id) DO NOTHING RETURNING id, source, event_id"
)


_PG_UPDATE_ORDERS = pg_update("orders", _ORDER_COLUMNS)
_PG_UPDATE_SHIPMENTS = pg_update("shipments", _KEY_COLUMNS)


def _insert_events(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert what is new; a repeat of a stored (source, event_id) is skipped. Returns the
    ids of the rows this call inserted."""
    if conn.dialect.name == "postgresql":
        # In the order of the unique key: two transactions inserting some of the same
        # events (a retried webhook) wait on each other's rows in the same order, so
        # neither can hold one the other waits for while waiting for one it holds.
        rows = sorted(rows, key=lambda row: (row["source"], row["event_id"]))
        stored = conn.exec_driver_sql(_PG_INSERT_EVENTS, arrays(rows, _EVENT_COLUMNS))
        return {(source, event_id): pk for pk, source, event_id in stored}
    stmt = (
        sqlite.insert(Event)
        .on_conflict_do_nothing(index_elements=["merchant_id", "source", "event_id"])
        .returning(Event.id, Event.source, Event.event_id)
    )
    return {(row.source, row.event_id): row.id for row in conn.execute(stmt, rows)}


def key_of(status: str | None, at: datetime | None, tiebreak: str | None) -> StatusKey | None:
    if status is None or at is None or tiebreak is None:
        return None
    source, _, event_id = tiebreak.partition(":")
    return StatusKey.of(Status(status), at, source, event_id)


def _pick_shipment(candidates: list[Any], occurred_at: datetime) -> Any | None:
    """A carrier may recycle a tracking number: take the newest parcel registered
    before the event (with a little grace), else the oldest one."""
    if not candidates:
        return None
    ordered = sorted(candidates, key=lambda row: (row.created_at, row.id))
    before = [row for row in ordered if row.created_at <= occurred_at + SHIPMENT_GRACE]
    return before[-1] if before else ordered[0]


# What ingestion needs to know of an order to fold new keys into its status.
_ORDER_STATE = (
    Order.id,
    Order.version,
    Order.status,
    Order.status_at,
    Order.own_status,
    Order.own_status_at,
    Order.own_status_tiebreak,
    Order.last_event_at,
    Order.shipments_total,
)


# ... and what tells which orders a batch names belong to it.
_ORDER_ROW = (*_ORDER_STATE, Order.merchant_id, Order.tracking_code, Order.external_id)


def _order_state(conn: Connection, *where: Any) -> list[Any]:
    """Unlocked (SQLite: its write transaction already excludes every other writer)."""
    return list(conn.execute(select(*_ORDER_ROW).where(*where)))


def _find_pg(codes: bool, externals: bool, ids: bool) -> Select[*tuple[Any, ...]]:
    """The orders a batch names by tracking code, external id or id (those of the parcels
    it names; only the ways it uses: an empty ``= ANY`` in an OR left PostgreSQL planning
    a scan of every order), in id order."""
    terms = []
    if codes:
        terms.append(Order.tracking_code == any_(bindparam("codes", type_=_TEXTS)))
    if externals:
        terms.append(
            and_(
                Order.merchant_id == bindparam("merchant_id"),
                Order.external_id == any_(bindparam("externals", type_=_TEXTS)),
            )
        )
    if ids:
        terms.append(Order.id == any_(bindparam("ids", type_=_IDS)))
    return select(*_ORDER_ROW).where(or_(*terms)).order_by(Order.id)


_TEXTS = postgresql.ARRAY(String)
_IDS = postgresql.ARRAY(Integer)


def _parcels(numbered: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """The merchant's parcels with the tracking numbers ``numbered`` names."""
    return select(
        Shipment.id,
        Shipment.order_id,
        Shipment.carrier,
        Shipment.tracking_number,
        Shipment.created_at,
    ).where(Shipment.merchant_id == bindparam("merchant_id"), numbered)


_PARCELS_PG = _parcels(Shipment.tracking_number == any_(bindparam("numbers", type_=_TEXTS)))
# One constant statement per combination of the ways a batch names its orders: found
# unlocked (a batch that names no parcel), or locked (one that does).
_FINDS_PG = {
    ways: _find_pg(*ways) for ways in itertools.product((False, True), repeat=3) if any(ways)
}
# Locked in id order, so that concurrent batches cannot deadlock on orders. FOR NO KEY
# UPDATE: does not conflict with the KEY SHARE locks that the foreign keys of
# concurrently inserted events take on the same orders.
_LOCKS_PG = {ways: find.with_for_update(key_share=True) for ways, find in _FINDS_PG.items()}
# Orders by id, locked: where a lock-late batch takes its locks.
_LOCK_IDS_PG = _LOCKS_PG[(False, False, True)]


class _Targets:
    """Looks up, in a few queries per batch, the order or shipment each event names,
    with the state of those orders."""

    def __init__(self, conn: Connection, merchant_id: int, events: Sequence[NormalizedEvent]):
        self.conn = conn
        self.merchant_id = merchant_id
        self.orders: dict[int, Any] = {}
        self.by_code: dict[str, int] = {}
        self.by_external: dict[str, int] = {}
        self.codes: dict[str, str | CodeError] = {}
        self.shipments: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for event in events:
            typed = event.tracking_code
            if typed is not None and typed not in self.codes:
                try:
                    self.codes[typed] = parse_tracking_code(typed)
                except CodeError as exc:
                    self.codes[typed] = exc
        valid = sorted({code for code in self.codes.values() if isinstance(code, str)})
        externals = sorted({e.external_id for e in events if e.external_id})
        numbers = sorted({e.tracking_number for e in events if e.tracking_number})
        # PostgreSQL: whether the orders were found without their locks (see state()).
        self.lock_late = False
        if conn.dialect.name == "postgresql":
            # One statement finds every order the batch may touch. Array parameters: no
            # chunks, whatever the batch size. Sent as a pipeline: the first statement
            # of the transaction carries its BEGIN. Every parameter, whichever
            # statement: psycopg takes the ones it names.
            params = {
                "codes": valid,
                "merchant_id": merchant_id,
                "externals": externals,
                "numbers": numbers,
                "ids": [],
            }
            if not numbers:
                # Lock late: the orders are found unlocked, the events stored, and only
                # then are the orders that got new events locked, to fold the events
                # in (state()). A transaction holds its order locks for the end of its
                # work, not the whole of it: writers sharing orders take shorter turns.
                self.lock_late = True
                if valid or externals:
                    ways = (bool(valid), bool(externals), False)
                    [found] = read_together(conn, [(_FINDS_PG[ways], params)])
                    self._keep(found)
                return
            # A batch that names parcels may register one: it locks its orders, in id
            # order (so concurrent batches cannot deadlock), before it looks their
            # parcels up, and reads their state under the lock. First the orders of the
            # parcels named, to lock them too.
            [found] = read_together(conn, [(_PARCELS_PG, params)])
            params["ids"] = sorted({row.order_id for row in found})
            ways = (bool(valid), bool(externals), bool(params["ids"]))
            reads = [(_LOCKS_PG[ways], params)] if any(ways) else []
            # The parcels again, read once the orders are locked: a parcel is only
            # registered under its order's lock, so one that a concurrent batch
            # registered meanwhile is seen here, not registered a second time. A parcel
            # of an order not locked here (registered since the first read, named by
            # nothing else in the batch) stays unknown to this batch.
            reads.append((_PARCELS_PG, params))
            *locked, parcels = read_together(conn, reads)
            for rows in locked:
                self._keep(rows)
            for row in parcels:
                if row.order_id in self.orders:
                    self.shipments[(row.carrier, row.tracking_number)].append(row)
            return
        for chunk in chunks(numbers):
            numbered = _parcels(among(conn, Shipment.tracking_number, chunk))
            for row in conn.execute(numbered, {"merchant_id": merchant_id}):
                self.shipments[(row.carrier, row.tracking_number)].append(row)
        # SQLite's write transaction already excludes every other writer: no locks.
        for chunk in chunks(valid):
            # Codes are unique across merchants: look them up by code alone (SQLite's
            # planner would otherwise scan the merchant's orders) and check the owner.
            self._remember(among(conn, Order.tracking_code, chunk))
        for chunk in chunks(externals):
            self._remember(Order.merchant_id == merchant_id, among(conn, Order.external_id, chunk))

    def _remember(self, *where: Any) -> None:
        self._keep(_order_state(self.conn, *where))

    def _keep(self, rows: Iterable[Any]) -> None:
        for row in rows:
            if row.merchant_id != self.merchant_id:
                continue
            self.orders[row.id] = row
            self.by_code[row.tracking_code] = row.id
            self.by_external[row.external_id] = row.id

    def state(self, order_ids: list[int]) -> dict[int, Any]:
        """The state of ``order_ids``, which this transaction may now write: on PostgreSQL
        locked since the lookup, or (lock late) locked here, in id order, and read again
        under the lock (a concurrent batch may have moved them since the lookup). Orders
        reached only through a parcel are read here on SQLite."""
        if self.lock_late:
            [rows] = read_together(self.conn, [(_LOCK_IDS_PG, {"ids": order_ids})])
            self._keep(rows)
            return {oid: self.orders[oid] for oid in order_ids}
        missing = [oid for oid in order_ids if oid not in self.orders]
        for chunk in chunks(missing):
            self._remember(Order.id.in_(chunk))
        return {oid: self.orders[oid] for oid in order_ids}

    def order_of(self, event: NormalizedEvent) -> int | None | CodeError:
        if event.tracking_code is not None:
            code = self.codes[event.tracking_code]
            return code if isinstance(code, CodeError) else self.by_code.get(code)
        if event.external_id is not None:
            return self.by_external.get(event.external_id)
        return None

    def shipment_of(self, event: NormalizedEvent, order_id: int | None) -> Any | None:
        assert event.carrier is not None
        assert event.tracking_number is not None
        candidates = self.shipments.get((event.carrier, event.tracking_number), [])
        if order_id is not None:
            candidates = [row for row in candidates if row.order_id == order_id]
        return _pick_shipment(candidates, event.occurred_at)

    def add_shipment(self, row: Any) -> None:
        self.shipments[(row.carrier, row.tracking_number)].append(row)


def ingest(
    session: Session,
    merchant_id: int,
    events: Sequence[tuple[int, NormalizedEvent]],
    now: datetime,
    *,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> IngestOutcome:
    """Store ``events`` (each with its index in the request) for one merchant.

    Every item gets a result: accepted, duplicate (an identical event with the same
    source and event id was stored before — it changes nothing) or rejected with a
    reason: among them ``conflict`` (the same source and event id with another order
    or content) and ``occurred_in_future`` (dated more than ``max_skew`` after
    ``now``). Only flushes; the caller owns the transaction.
    """
    conn = session.connection()
    outcome = IngestOutcome()
    results: dict[int, EventResult] = {}
    limit = now + max_skew
    timely: list[tuple[int, NormalizedEvent]] = []
    for index, event in events:
        if event.occurred_at > limit:
            results[index] = _in_the_future(index, event, limit)
        else:
            timely.append((index, event))
    targets = _Targets(conn, merchant_id, [event for _, event in timely])

    # 1. Resolve each event's order (and shipment); duplicates inside the batch.
    seen: dict[tuple[str, str], int] = {}
    first_copy: dict[tuple[str, str], NormalizedEvent] = {}
    repeats: dict[int, int] = {}
    resolved: list[tuple[int, NormalizedEvent, int, int | None]] = []
    new_shipments: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for index, event in timely:
        ident = (event.source, event.event_id)
        if ident in first_copy:
            first = first_copy[ident]
            if _content(first) != _content(event) or _addressee(first) != _addressee(event):
                results[index] = _reject(
                    index,
                    event,
                    "conflict",
                    f"Event {event.source}:{event.event_id} appears twice in this request"
                    " with different content; only an identical event is a duplicate.",
                )
                continue
            if ident in seen:
                repeats[index] = seen[ident]
                continue
            # The first copy was rejected: this one is judged the same way below.
        first_copy[ident] = event
        target = targets.order_of(event)
        if isinstance(target, CodeError):
            results[index] = _reject(index, event, "invalid_tracking_code", str(target))
            continue
        order_id = target
        shipment_id: int | None = None
        if event.carrier is not None and event.tracking_number is not None:
            shipment = targets.shipment_of(event, order_id)
            if shipment is not None:
                shipment_id, order_id = shipment.id, shipment.order_id
            elif order_id is not None:
                # An event naming both the order and a parcel Rumbo has not seen yet
                # registers that parcel, as the store would have done.
                new_shipments[(order_id, event.carrier, event.tracking_number)].append(index)
        if order_id is None:
            what = (
                "shipment"
                if event.carrier and not (event.tracking_code or event.external_id)
                else "order"
            )
            results[index] = _reject(
                index, event, f"unknown_{what}", f"No {what} matches this event."
            )
            continue
        seen[ident] = index
        resolved.append((index, event, order_id, shipment_id))

    if not resolved:
        return _finish(outcome, events, results, repeats)

    # 2. Parcels first seen in this batch (not for an event already stored under its id
    # for another order: that one is a conflict and must write nothing).
    if new_shipments:
        naming = {index for indexes in new_shipments.values() for index in indexes}
        taken = _stored(
            conn,
            merchant_id,
            [(e.source, e.event_id) for i, e, _, _ in resolved if i in naming],
        )
        if taken:
            keep: list[tuple[int, NormalizedEvent, int, int | None]] = []
            for index, event, order_id, shipment_id in resolved:
                stored = taken.get((event.source, event.event_id))
                if stored is not None and index in naming:
                    fields = _differences(event, order_id, shipment_id, stored) or ["shipment"]
                    results[index] = _conflict(index, event, stored.id, fields)
                else:
                    keep.append((index, event, order_id, shipment_id))
            resolved = keep
            for ident_key in list(new_shipments):
                new_shipments[ident_key] = [i for i in new_shipments[ident_key] if i not in results]
                if not new_shipments[ident_key]:
                    del new_shipments[ident_key]
    if new_shipments:
        owners = targets.state(sorted({order_id for order_id, _, _ in new_shipments}))
        insert_rows = [
            {
                "merchant_id": merchant_id,
                "order_id": order_id,
                "carrier": carrier,
                "tracking_number": number,
                "created_at": now,
                "status": owners[order_id].status,
            }
            for (order_id, carrier, number) in new_shipments
        ]
        created = conn.execute(
            insert(Shipment).returning(
                Shipment.id,
                Shipment.order_id,
                Shipment.carrier,
                Shipment.tracking_number,
                Shipment.created_at,
            ),
            insert_rows,
        )
        by_ident = {(row.order_id, row.carrier, row.tracking_number): row for row in created}
        position_of = {index: position for position, (index, *_) in enumerate(resolved)}
        for ident_key, indexes in new_shipments.items():
            row = by_ident[ident_key]
            targets.add_shipment(row)
            for index in indexes:
                _, event, oid, _ = resolved[position_of[index]]
                resolved[position_of[index]] = (index, event, oid, row.id)

    # 3. Store the events; the unique key turns a repeat into a no-op.
    rows = [
        {
            "merchant_id": merchant_id,
            "order_id": order_id,
            "shipment_id": shipment_id,
            "source": event.source,
            "event_id": event.event_id,
            "status": event.status.value if event.status else None,
            "occurred_at": event.occurred_at,
            "received_at": now,
            "code": event.code,
            "description": event.description,
            "city": event.city,
            "state": event.state,
            "country": event.country,
            "lat": event.lat,
            "lon": event.lon,
            "raw": event.raw,
        }
        for _, event, order_id, shipment_id in resolved
    ]
    inserted = _insert_events(conn, rows) if rows else {}
    existing = _stored(
        conn,
        merchant_id,
        [
            (e.source, e.event_id)
            for _, e, _, _ in resolved
            if (e.source, e.event_id) not in inserted
        ],
    )

    order_keys: dict[int, list[StatusKey]] = defaultdict(list)
    shipment_keys: dict[int, list[StatusKey]] = defaultdict(list)
    last_event: dict[int, datetime] = {}
    for index, event, order_id, shipment_id in resolved:
        ident = (event.source, event.event_id)
        if ident in inserted:
            results[index] = EventResult(
                index=index,
                event_id=event.event_id,
                outcome="accepted",
                id=inserted[ident],
                order_id=order_id,
            )
            if order_id not in last_event or event.occurred_at > last_event[order_id]:
                last_event[order_id] = event.occurred_at
            if event.status is not None:
                key = StatusKey.of(event.status, event.occurred_at, event.source, event.event_id)
                (shipment_keys[shipment_id] if shipment_id else order_keys[order_id]).append(key)
        else:
            stored = existing[ident]
            fields = _differences(event, order_id, shipment_id, stored)
            if fields:
                results[index] = _conflict(index, event, stored.id, fields)
                continue
            results[index] = EventResult(
                index=index,
                event_id=event.event_id,
                outcome="duplicate",
                id=stored.id,
                order_id=stored.order_id,
            )

    # 4. Fold the new keys into the stored maxima (read under the orders' locks) and
    # re-derive what changed.
    touched = sorted(set(last_event))
    if touched:
        outcome.changes = _apply_keys(
            session,
            targets.state(touched),
            touched,
            order_keys,
            shipment_keys,
            last_event,
            now,
            new_parcels=frozenset(order_id for order_id, _, _ in new_shipments),
        )
        react(session, merchant_id, touched, outcome.changes, now)
    return _finish(outcome, events, results, repeats)


def _addressee(event: NormalizedEvent) -> tuple[str | None, ...]:
    return (event.tracking_code, event.external_id, event.carrier, event.tracking_number)


# A stored event by its unique key, with what a repeat is compared on. Equality on
# every column of the unique (merchant, source, event_id) index is a lookup of one row
# whatever the planner's statistics say. Pairs in one IN list, or sources and ids as
# two lists, left PostgreSQL free to read every event of the store or of the source
# when its statistics lagged a fast-growing table: a retried webhook cost a scan of
# the store's history.
_STORED_COLUMNS = (
    Event.id,
    Event.order_id,
    Event.shipment_id,
    Event.source,
    Event.event_id,
    *(getattr(Event, name) for name in _CONTENT),
)
_STORED = select(*_STORED_COLUMNS).where(
    Event.merchant_id == bindparam("merchant_id"),
    Event.source == bindparam("source"),
    Event.event_id == bindparam("event_id"),
)


def _stored(
    conn: Connection, merchant_id: int, idents: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """The stored events among ``idents`` (source, event_id), with what a repeat is
    compared on: one lookup each, all in one round trip on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        # In process, with no statistics to lag: the pairs in one IN list per chunk.
        stored: dict[tuple[str, str], Any] = {}
        for chunk in chunks(idents):
            for row in conn.execute(
                select(*_STORED_COLUMNS).where(
                    Event.merchant_id == merchant_id,
                    tuple_(Event.source, Event.event_id).in_(chunk),
                )
            ):
                stored[(row.source, row.event_id)] = row
        return stored
    found = read_together(
        conn,
        [
            (_STORED, {"merchant_id": merchant_id, "source": source, "event_id": event_id})
            for source, event_id in sorted(set(idents))
        ],
    )
    return {(row.source, row.event_id): row for rows in found for row in rows}


def react(
    session: Session,
    merchant_id: int,
    order_ids: Sequence[int],
    changes: Sequence[StatusChange],
    now: datetime,
) -> None:
    """Announce what must commit together with stored events: ``order_ids`` got new
    events and ``changes`` moved derived statuses (see ``rumbo.events.pipeline``)."""
    publish(session, Ingested(merchant_id, order_ids, changes, now))


def _finish(
    outcome: IngestOutcome,
    events: Sequence[tuple[int, NormalizedEvent]],
    results: dict[int, EventResult],
    repeats: dict[int, int],
) -> IngestOutcome:
    """Results in request order; a repeat inside the batch points at its first copy."""
    for index, first in repeats.items():
        original = results[first]
        if original.outcome == "rejected":  # e.g. the first copy turned out a conflict
            results[index] = original.model_copy(update={"index": index})
            continue
        results[index] = EventResult(
            index=index,
            event_id=original.event_id,
            outcome="duplicate",
            id=original.id,
            order_id=original.order_id,
        )
    outcome.results = [results[i] for i, _ in events]
    return outcome


_ORDERS = cast(Table, Order.__table__)
_SHIPMENTS = cast(Table, Shipment.__table__)
_KEY_VALUES: dict[str, Any] = {
    "own_status": bindparam("own_status"),
    "own_status_at": bindparam("own_status_at"),
    "own_status_tiebreak": bindparam("own_status_tiebreak"),
    "status": bindparam("status"),
    "status_at": bindparam("status_at"),
}
_UPDATE_ORDER = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("row_id"))
    .values(
        **_KEY_VALUES,
        version=bindparam("version"),
        shipments_total=bindparam("shipments_total"),
        shipments_delivered=bindparam("shipments_delivered"),
        last_event_at=bindparam("last_event_at"),
        updated_at=bindparam("updated_at"),
    )
)
_UPDATE_SHIPMENT = (
    update(_SHIPMENTS).where(_SHIPMENTS.c.id == bindparam("row_id")).values(**_KEY_VALUES)
)


def _apply_keys(
    session: Session,
    orders: dict[int, Any],
    order_ids: list[int],
    order_keys: dict[int, list[StatusKey]],
    shipment_keys: dict[int, list[StatusKey]],
    last_event: dict[int, datetime],
    now: datetime,
    *,
    replace: bool = False,
    new_parcels: frozenset[int] = frozenset(),
) -> list[StatusChange]:
    """Write new maxima and derived statuses for ``order_ids`` and their shipments.

    With ``replace`` the given keys are the complete truth (a re-derivation from
    scratch); otherwise they are folded into what is stored. Every touched order's
    ``version`` goes up: its public view changed.
    """
    conn = session.connection()
    shipments_by_order: dict[int, list[Any]] = defaultdict(list)
    with_parcels = [
        oid for oid in order_ids if orders[oid].shipments_total > 0 or oid in new_parcels or replace
    ]
    for chunk in chunks(with_parcels):
        for row in conn.execute(
            select(
                Shipment.id,
                Shipment.order_id,
                Shipment.status,
                Shipment.status_at,
                Shipment.own_status,
                Shipment.own_status_at,
                Shipment.own_status_tiebreak,
            )
            .where(among(conn, Shipment.order_id, chunk))
            .order_by(Shipment.id)
        ):
            shipments_by_order[row.order_id].append(row)

    order_updates: list[dict[str, Any]] = []
    shipment_updates: list[dict[str, Any]] = []
    changes: list[StatusChange] = []
    for order_id in order_ids:
        row = orders[order_id]
        stored = (
            None if replace else key_of(row.own_status, row.own_status_at, row.own_status_tiebreak)
        )
        own = latest([stored, *order_keys.get(order_id, ())])
        ship_own: list[StatusKey | None] = []
        for ship in shipments_by_order.get(order_id, ()):
            ship_stored = (
                None
                if replace
                else key_of(ship.own_status, ship.own_status_at, ship.own_status_tiebreak)
            )
            mine = latest([ship_stored, *shipment_keys.get(ship.id, ())])
            ship_own.append(mine)
            effective = latest((own, mine))
            status = effective.status if effective else Status.PENDING
            at = effective.occurred_at if effective else None
            if (
                replace
                or mine != ship_stored
                or status.value != ship.status
                or at != ship.status_at
            ):
                shipment_updates.append(_key_columns(ship.id, mine, status, at))
        derived = derive_order_status(own, ship_own)
        if replace:
            last = last_event.get(order_id)
        else:
            last = max(filter(None, (row.last_event_at, last_event.get(order_id))), default=None)
        order_updates.append(
            _key_columns(order_id, own, derived.status, derived.at)
            | {
                "version": row.version + 1,
                "shipments_total": derived.shipments_total,
                "shipments_delivered": derived.shipments_delivered,
                "last_event_at": last,
                "updated_at": now,
            }
        )
        if derived.status.value != row.status:
            changes.append(StatusChange(order_id, Status(row.status), derived.status, derived.at))
    if conn.dialect.name == "postgresql":
        if shipment_updates:
            conn.exec_driver_sql(
                _PG_UPDATE_SHIPMENTS,
                (
                    [u["row_id"] for u in shipment_updates],
                    *arrays(shipment_updates, _KEY_COLUMNS),
                ),
            )
        if order_updates:
            conn.exec_driver_sql(
                _PG_UPDATE_ORDERS,
                ([u["row_id"] for u in order_updates], *arrays(order_updates, _ORDER_COLUMNS)),
            )
        return changes
    if shipment_updates:
        conn.execute(_UPDATE_SHIPMENT, shipment_updates)
    if order_updates:
        conn.execute(_UPDATE_ORDER, order_updates)
    return changes


def _key_columns(
    row_id: int, key: StatusKey | None, status: Status, at: datetime | None
) -> dict[str, Any]:
    return {
        "row_id": row_id,
        "own_status": key.status.value if key else None,
        "own_status_at": key.occurred_at if key else None,
        "own_status_tiebreak": key.tiebreak if key else None,
        "status": status.value,
        "status_at": at,
    }


def rederive(session: Session, order_ids: Sequence[int], now: datetime) -> list[StatusChange]:
    """Recompute the status of ``order_ids`` from all their stored events, from scratch.

    Used after a carrier code is (re)mapped, and by tests to prove that the
    incremental path and a full recomputation always agree.
    """
    conn = session.connection()
    orders: dict[int, Any] = {}
    order_keys: dict[int, list[StatusKey]] = defaultdict(list)
    shipment_keys: dict[int, list[StatusKey]] = defaultdict(list)
    last_event: dict[int, datetime] = {}
    for chunk in chunks(sorted(order_ids)):
        for row in conn.execute(
            select(*_ORDER_STATE)
            .where(Order.id.in_(chunk))
            .order_by(Order.id)
            .with_for_update(key_share=True)
        ):
            orders[row.id] = row
        for ev in conn.execute(
            select(
                Event.order_id,
                Event.shipment_id,
                Event.source,
                Event.event_id,
                Event.status,
                Event.occurred_at,
            ).where(Event.order_id.in_(chunk))
        ):
            if ev.order_id not in last_event or ev.occurred_at > last_event[ev.order_id]:
                last_event[ev.order_id] = ev.occurred_at
            if ev.status is None:
                continue
            key = StatusKey.of(Status(ev.status), ev.occurred_at, ev.source, ev.event_id)
            (shipment_keys[ev.shipment_id] if ev.shipment_id else order_keys[ev.order_id]).append(
                key
            )
    return _apply_keys(
        session, orders, sorted(orders), order_keys, shipment_keys, last_event, now, replace=True
    )
