"""Orders and shipments: creation, lookup, search, split fulfilment."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.events.service import MAX_CLOCK_SKEW, NormalizedEvent, ingest, rederive
from rumbo.events.stale import ShipmentNews, shipment_news, stale_order_ids
from rumbo.events.status import RANK, Status
from rumbo.kit.codes import CodeError, new_tracking_code, normalize, parse_tracking_code
from rumbo.kit.pagination import decode_cursor, encode_cursor
from rumbo.models import Event, Order, Shipment
from rumbo.orders.schemas import (
    AddressOut,
    Customer,
    EtaSummary,
    Item,
    OrderCreate,
    OrderOut,
    ShipmentCreate,
    ShipmentOut,
    StatusDetail,
)

PLACED_EVENT_SOURCE = "store"


def _request_hash(data: OrderCreate) -> str:
    canonical = orjson.dumps(data.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def tracking_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/t/{code}"


@dataclass
class Creation:
    """The outcome of one order of a creation request."""

    index: int
    order: Order | None = None
    created: bool = False
    error: RumboError | None = None


def create_order(
    session: Session,
    merchant_id: int,
    data: OrderCreate,
    now: datetime,
    *,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> tuple[Order, bool]:
    """The order for ``data.external_id``, created if new: ``(order, created)``.

    The same body again returns the existing order; a different body under the
    same external id is a 409, so a retried request can never fork an order. A
    ``placed_at`` further ahead of ``now`` than ``max_skew`` is refused (422), as any
    event dated in the future is.
    """
    [outcome] = create_orders(session, merchant_id, [(0, data)], now, max_skew=max_skew)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.order is not None
    return outcome.order, outcome.created


def create_orders(
    session: Session,
    merchant_id: int,
    items: Sequence[tuple[int, OrderCreate]],
    now: datetime,
    *,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> list[Creation]:
    """:func:`create_order` for many orders at once, with one outcome per item.

    A fixed number of statements whatever the count (one lookup of the external ids,
    one insert, one ingestion of the "placed" events, one read back), so a store that
    sends its orders in bursts pays per burst, not per order. An item refused (a
    conflict, a future ``placed_at``) never sinks the others; the same external id
    twice in one request is one order (or a conflict when the bodies differ).
    """
    outcomes = [Creation(index) for index, _ in items]
    digests = [_request_hash(data) for _, data in items]
    existing = _by_external_ids(session, merchant_id, [data.external_id for _, data in items])
    latest = now + max_skew
    fresh: dict[str, tuple[int, str]] = {}  # external id -> (position of its first item, digest)
    waiting: list[int] = []  # positions answered by an order created in this request
    for position, ((_, data), digest) in enumerate(zip(items, digests, strict=True)):
        outcome = outcomes[position]
        known = existing.get(data.external_id)
        if known is not None:
            _settle_existing(outcome, known, digest)
        elif data.external_id in fresh:
            waiting.append(position)
        elif data.placed_at is not None and data.placed_at > latest:
            outcome.error = RumboError(
                f"placed_at {data.placed_at.isoformat()} is ahead of the server's clock by"
                f" more than the tolerance; orders placed after {latest.isoformat()} are"
                " refused.",
                422,
                "occurred_in_future",
                {"latest_accepted": latest.isoformat()},
            )
        else:
            fresh[data.external_id] = (position, digest)
    created = _insert_orders(session, merchant_id, items, fresh, now, max_skew)
    if created is None:
        # Another request created one of these external ids a moment ago: one by one.
        for position, _ in fresh.values():
            outcomes[position] = _create_alone(session, merchant_id, items[position], now, max_skew)
    else:
        for external_id, order in created.items():
            outcome = outcomes[fresh[external_id][0]]
            outcome.order, outcome.created = order, True
    for position in waiting:
        first = outcomes[fresh[items[position][1].external_id][0]]
        if first.order is not None:
            _settle_existing(outcomes[position], first.order, digests[position])
        else:
            outcomes[position].error = first.error or RumboError(
                "This order could not be created.", 422, "not_created"
            )
    return outcomes


def _settle_existing(outcome: Creation, order: Order, digest: str) -> None:
    try:
        outcome.order = _same_or_conflict(order, digest)
    except Conflict as exc:
        outcome.error = exc


def _insert_orders(
    session: Session,
    merchant_id: int,
    items: Sequence[tuple[int, OrderCreate]],
    fresh: dict[str, tuple[int, str]],
    now: datetime,
    max_skew: timedelta,
) -> dict[str, Order] | None:
    """Insert the new orders and their "placed" events; ``None`` if an external id was
    taken meanwhile (nothing of this step is kept then)."""
    if not fresh:
        return {}
    orders = {
        external_id: _new_order(merchant_id, items[position][1], digest, now)
        for external_id, (position, digest) in fresh.items()
    }
    try:
        with session.begin_nested():
            session.add_all(orders.values())
            session.flush()
    except IntegrityError:
        return None  # the savepoint's rollback made the new orders transient again
    _ingest_placed(session, merchant_id, list(orders.values()), now, max_skew)
    return orders


def _create_alone(
    session: Session,
    merchant_id: int,
    item: tuple[int, OrderCreate],
    now: datetime,
    max_skew: timedelta,
) -> Creation:
    index, data = item
    outcome = Creation(index)
    digest = _request_hash(data)
    known = _by_external_id(session, merchant_id, data.external_id)
    if known is not None:
        _settle_existing(outcome, known, digest)
        return outcome
    created = _insert_orders(
        session, merchant_id, [item], {data.external_id: (0, digest)}, now, max_skew
    )
    if created is None:
        known = _by_external_id(session, merchant_id, data.external_id)
        if known is None:
            raise RuntimeError("an external id was taken and then vanished")
        _settle_existing(outcome, known, digest)
    else:
        outcome.order, outcome.created = created[data.external_id], True
    return outcome


def _new_order(merchant_id: int, data: OrderCreate, digest: str, now: datetime) -> Order:
    return Order(
        merchant_id=merchant_id,
        external_id=data.external_id,
        tracking_code=new_tracking_code(),
        request_hash=digest,
        customer_name=data.customer.name,
        customer_email=data.customer.email,
        customer_phone=data.customer.phone,
        customer_locale=data.customer.locale,
        customer_postal_code=data.customer.postal_code,
        destination=data.destination.model_dump(mode="json"),
        origin=data.origin.model_dump(mode="json") if data.origin else None,
        items=[item.model_dump(mode="json") for item in data.items],
        promised_delivery_date=data.promised_delivery_date,
        placed_at=data.placed_at or now,
        created_at=now,
        updated_at=now,
        version=1,
        status=Status.PENDING.value,
        shipments_total=0,
        shipments_delivered=0,
    )


def _ingest_placed(
    session: Session, merchant_id: int, orders: list[Order], now: datetime, max_skew: timedelta
) -> None:
    """The "order placed" event of each new order, in one ingestion; then the orders as
    ingestion left them (status, version)."""
    placed = [
        (
            n,
            NormalizedEvent(
                source=PLACED_EVENT_SOURCE,
                event_id=f"rumbo:order-placed:{order.id}",
                status=Status.PENDING,
                occurred_at=order.placed_at,
                raw=orjson.dumps(
                    {"external_id": order.external_id, "placed_at": order.placed_at.isoformat()}
                ).decode(),
                external_id=order.external_id,
                description="Order placed",
            ),
        )
        for n, order in enumerate(orders)
    ]
    ingest(session, merchant_id, placed, now, max_skew=max_skew)
    session.execute(
        select(Order)
        .where(Order.id.in_([order.id for order in orders]))
        .execution_options(populate_existing=True)
    ).all()


def _by_external_id(session: Session, merchant_id: int, external_id: str) -> Order | None:
    return _by_external_ids(session, merchant_id, [external_id]).get(external_id)


def _by_external_ids(
    session: Session, merchant_id: int, external_ids: Sequence[str]
) -> dict[str, Order]:
    if not external_ids:
        return {}
    found = session.scalars(
        select(Order).where(
            Order.merchant_id == merchant_id, Order.external_id.in_(set(external_ids))
        )
    )
    return {order.external_id: order for order in found}


def _same_or_conflict(order: Order, digest: str) -> Order:
    if order.request_hash != digest:
        raise Conflict(
            "An order with this external_id already exists with different content.",
            "order_exists",
            {"order_id": order.id},
        )
    return order


def get_order(session: Session, merchant_id: int, order_id: int) -> Order:
    """The merchant's order, or a 404 — also when it belongs to another merchant."""
    order = session.get(Order, order_id)
    if order is None or order.merchant_id != merchant_id:
        raise NotFound("No order with this id.", "order_not_found")
    return order


def shipments_of(session: Session, order_ids: Sequence[int]) -> dict[int, list[Shipment]]:
    by_order: dict[int, list[Shipment]] = defaultdict(list)
    if order_ids:
        for shipment in session.scalars(
            select(Shipment).where(Shipment.order_id.in_(order_ids)).order_by(Shipment.id)
        ):
            by_order[shipment.order_id].append(shipment)
    return by_order


def list_orders(
    session: Session,
    merchant_id: int,
    *,
    status: Status | None = None,
    risk: str | None = None,
    stale: bool | None = None,
    now: datetime | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Order], str | None]:
    """Newest first; ``q`` matches an external id, e-mail, tracking code or carrier number;
    ``stale`` keeps the orders with (or without) a stale shipment at ``now``."""
    stmt = select(Order).where(Order.merchant_id == merchant_id)
    if status is not None:
        stmt = stmt.where(Order.status == status.value)
    if risk is not None:
        stmt = stmt.where(Order.risk == risk)
    if stale is not None:
        if now is None:
            raise ValueError("filtering on stale needs now")
        stale_ids = Order.id.in_(stale_order_ids(session, merchant_id, now))
        stmt = stmt.where(stale_ids if stale else ~stale_ids)
    if q:
        q = q.strip()
        matches: list[Any] = [Order.external_id == q, Order.customer_email == q.lower()]
        try:
            matches.append(Order.tracking_code == parse_tracking_code(q))
        except CodeError:
            matches.append(Order.tracking_code == normalize(q))
        matches.append(
            exists().where(
                Shipment.order_id == Order.id,
                Shipment.merchant_id == merchant_id,
                Shipment.tracking_number == q,
            )
        )
        stmt = stmt.where(or_(*matches))
    if cursor:
        stmt = stmt.where(Order.id < decode_cursor(cursor))
    orders = list(session.scalars(stmt.order_by(Order.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(orders[limit - 1].id) if len(orders) > limit else None
    return orders[:limit], next_cursor


def add_shipment(
    session: Session, merchant_id: int, order_id: int, data: ShipmentCreate, now: datetime
) -> tuple[Shipment, bool]:
    """Register a parcel of the order; the same carrier and number again is a no-op."""
    order = get_order(session, merchant_id, order_id)
    # Lock the order row: it guards its shipments and derived status.
    session.execute(select(Order.id).where(Order.id == order.id).with_for_update(key_share=True))
    existing = session.scalar(
        select(Shipment).where(
            Shipment.order_id == order.id,
            Shipment.carrier == data.carrier,
            Shipment.tracking_number == data.tracking_number,
        )
    )
    if existing is not None:
        if data.service and existing.service != data.service:
            existing.service = data.service
        return existing, False
    shipment = Shipment(
        merchant_id=merchant_id,
        order_id=order.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        service=data.service,
        created_at=now,
        status=order.own_status or Status.PENDING.value,
        status_at=order.own_status_at,
    )
    session.add(shipment)
    session.flush()
    rederive(session, [order.id], now)
    session.refresh(order)
    session.refresh(shipment)
    return shipment, True


def order_events(session: Session, merchant_id: int, order_id: int) -> list[Event]:
    """The timeline: every event of the order by time (then by the status precedence)."""
    get_order(session, merchant_id, order_id)
    events = list(session.scalars(select(Event).where(Event.order_id == order_id)))
    return sort_timeline(events)


def sort_timeline(events: list[Event]) -> list[Event]:
    def position(event: Event) -> tuple[datetime, int, str]:
        rank = RANK[Status(event.status)] if event.status else -1
        return (event.occurred_at, rank, f"{event.source}:{event.event_id}")

    return sorted(events, key=position)


def shipment_out(shipment: Shipment, news: ShipmentNews) -> ShipmentOut:
    return ShipmentOut(
        id=shipment.id,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        service=shipment.service,
        status=Status(shipment.status),
        status_at=shipment.status_at,
        created_at=shipment.created_at,
        last_event_at=news.last_event_at,
        usual_gap_hours=round(news.usual_gap.total_seconds() / 3600, 2),
        stale=news.stale,
        stale_since=news.stale_since,
    )


def shipments_news(
    session: Session, shipments: Sequence[Shipment], now: datetime
) -> dict[int, ShipmentNews]:
    """Staleness of ``shipments`` at ``now`` (see ``rumbo.events.stale``)."""
    return shipment_news(session, [s.id for s in shipments], now)


def order_out(
    order: Order,
    shipments: Sequence[Shipment],
    base_url: str,
    news: dict[int, ShipmentNews],
) -> OrderOut:
    return OrderOut(
        id=order.id,
        external_id=order.external_id,
        tracking_code=order.tracking_code,
        tracking_url=tracking_url(base_url, order.tracking_code),
        status=Status(order.status),
        status_at=order.status_at,
        status_detail=StatusDetail(
            shipments_total=order.shipments_total,
            shipments_delivered=order.shipments_delivered,
            partially_delivered=0 < order.shipments_delivered < order.shipments_total,
        ),
        customer=Customer(
            name=order.customer_name,
            email=order.customer_email,
            phone=order.customer_phone,
            locale=order.customer_locale,
            postal_code=order.customer_postal_code,
        ),
        destination=AddressOut.model_validate(order.destination),
        origin=AddressOut.model_validate(order.origin) if order.origin else None,
        items=[Item.model_validate(item) for item in order.items],
        promised_delivery_date=order.promised_delivery_date,
        placed_at=order.placed_at,
        created_at=order.created_at,
        updated_at=order.updated_at,
        last_event_at=order.last_event_at,
        eta=EtaSummary(
            estimated_delivery=order.eta_estimated,
            earliest=order.eta_earliest,
            latest=order.eta_latest,
            on_time_probability=order.on_time_probability,
            risk=order.risk,
            model_version=order.eta_model_version,
            scored_at=order.eta_scored_at,
        )
        if order.eta_estimated is not None and order.risk is not None
        else None,
        shipments=[shipment_out(s, news[s.id]) for s in shipments],
    )
