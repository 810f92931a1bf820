"""Orders and shipments: creation, lookup, search, split fulfilment."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rumbo.errors import Conflict, NotFound, RumboError
from rumbo.events.service import MAX_CLOCK_SKEW, NormalizedEvent, ingest, rederive
from rumbo.events.stale import ShipmentNews, shipment_news, stale_order_ids
from rumbo.events.status import Status
from rumbo.kit.pagination import decode_cursor, encode_cursor
from rumbo.models import Event, Order, Shipment
from rumbo.orders.codes import CodeError, new_tracking_code, normalize, parse_tracking_code
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
    digest = _request_hash(data)
    existing = _by_external_id(session, merchant_id, data.external_id)
    if existing is not None:
        return _same_or_conflict(existing, digest), False
    if data.placed_at is not None and data.placed_at > now + max_skew:
        limit = (now + max_skew).isoformat()
        raise RumboError(
            f"placed_at {data.placed_at.isoformat()} is ahead of the server's clock by more"
            f" than the tolerance; orders placed after {limit} are refused.",
            422,
            "occurred_in_future",
            {"latest_accepted": limit},
        )
    placed_at = data.placed_at or now
    order = Order(
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
        placed_at=placed_at,
        created_at=now,
        updated_at=now,
        version=1,
        status=Status.PENDING.value,
        shipments_total=0,
        shipments_delivered=0,
    )
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        # Another request created the same external id a moment ago.
        existing = _by_external_id(session, merchant_id, data.external_id)
        if existing is None:
            raise
        return _same_or_conflict(existing, digest), False
    placed = NormalizedEvent(
        source=PLACED_EVENT_SOURCE,
        event_id=f"rumbo:order-placed:{order.id}",
        status=Status.PENDING,
        occurred_at=placed_at,
        raw=orjson.dumps(
            {"external_id": data.external_id, "placed_at": placed_at.isoformat()}
        ).decode(),
        external_id=data.external_id,
        description="Order placed",
    )
    ingest(session, merchant_id, [(0, placed)], now, max_skew=max_skew)
    session.refresh(order)
    return order, True


def _by_external_id(session: Session, merchant_id: int, external_id: str) -> Order | None:
    return session.scalar(
        select(Order).where(Order.merchant_id == merchant_id, Order.external_id == external_id)
    )


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
    from rumbo.events.status import RANK

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
