"""The orders API's responses, each assembled by one call from the service's pieces:
the orders, their shipments and how stale each shipment is, rendered for ``base_url``."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from rumbo.events.schemas import EventOut, LocationOut
from rumbo.events.status import Status
from rumbo.models import Event
from rumbo.orders import service
from rumbo.orders.schemas import OrderOut, OrderPage, ShipmentCreate, ShipmentOut


def order_page(
    session: Session,
    merchant_id: int,
    *,
    base_url: str,
    now: datetime,
    status: Status | None = None,
    risk: str | None = None,
    stale: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> OrderPage:
    """One page of the merchant's orders (see :func:`service.list_orders`), newest first."""
    orders, next_cursor = service.list_orders(
        session,
        merchant_id,
        status=status,
        risk=risk,
        stale=stale,
        now=now,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    shipments = service.shipments_of(session, [o.id for o in orders])
    news = service.shipments_news(session, [s for o in orders for s in shipments[o.id]], now)
    return OrderPage(
        items=[service.order_out(o, shipments[o.id], base_url, news) for o in orders],
        next_cursor=next_cursor,
    )


def order_view(
    session: Session, merchant_id: int, order_id: int, *, base_url: str, now: datetime
) -> OrderOut:
    """The order with its shipments; a 404 for another merchant's or a missing one."""
    order = service.get_order(session, merchant_id, order_id)
    shipments = service.shipments_of(session, [order.id])[order.id]
    news = service.shipments_news(session, shipments, now)
    return service.order_out(order, shipments, base_url, news)


def added_shipment(
    session: Session, merchant_id: int, order_id: int, body: ShipmentCreate, now: datetime
) -> tuple[ShipmentOut, bool]:
    """The shipment added (or the one already registered: ``False``) and its news."""
    shipment, created = service.add_shipment(session, merchant_id, order_id, body, now)
    out = service.shipment_out(
        shipment, service.shipments_news(session, [shipment], now)[shipment.id]
    )
    return out, created


def timeline(session: Session, merchant_id: int, order_id: int) -> list[EventOut]:
    """Every event of the order by time, each with the raw payload it came with."""
    return [event_out(e) for e in service.order_events(session, merchant_id, order_id)]


def event_out(event: Event) -> EventOut:
    has_place = any(
        v is not None for v in (event.city, event.state, event.country, event.lat, event.lon)
    )
    return EventOut(
        id=event.id,
        event_id=event.event_id,
        source=event.source,
        status=Status(event.status) if event.status else None,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        shipment_id=event.shipment_id,
        code=event.code,
        description=event.description,
        location=LocationOut(
            city=event.city, state=event.state, country=event.country, lat=event.lat, lon=event.lon
        )
        if has_place
        else None,
        raw=orjson.loads(event.raw),
    )
