from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response, status

from rumbo.config import SettingsDep
from rumbo.db import SessionDep
from rumbo.events.schemas import EventOut, LocationOut
from rumbo.events.status import Status
from rumbo.kit.clock import ClockDep
from rumbo.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from rumbo.kit.schemas import RowId
from rumbo.merchants.deps import MerchantDep
from rumbo.models import Event
from rumbo.orders import service
from rumbo.orders.schemas import OrderCreate, OrderOut, OrderPage, ShipmentCreate, ShipmentOut

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={
        200: {
            "description": "The same body was sent before: the existing order.",
            "model": OrderOut,
        },
        409: {"description": "This external_id exists with different content."},
        422: {"description": "An invalid body, or a placed_at in the future."},
    },
    summary="Create an order (idempotent on external_id)",
)
def create_order(
    body: OrderCreate,
    response: Response,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> OrderOut:
    now = clock.now()
    order, created = service.create_order(
        session, merchant_id, body, now, max_skew=settings.max_clock_skew
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    shipments = service.shipments_of(session, [order.id])[order.id]
    news = service.shipments_news(session, shipments, now)
    return service.order_out(order, shipments, settings.base_url, news)


@router.get("", response_model=OrderPage, summary="List and search orders")
def list_orders(
    session: SessionDep,
    merchant_id: MerchantDep,
    settings: SettingsDep,
    clock: ClockDep,
    status: Status | None = None,
    risk: Annotated[
        Literal["on_track", "at_risk", "late"] | None,
        Query(description="Open orders by their latest delivery-date risk."),
    ] = None,
    stale: Annotated[
        bool | None,
        Query(
            description="true: orders with a shipment that has had no news for longer than "
            "its lane's usual gap; false: orders without one.",
            examples=[True],
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=320,
            description="External id, e-mail, tracking code or carrier tracking number.",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> OrderPage:
    now = clock.now()
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
        items=[service.order_out(o, shipments[o.id], settings.base_url, news) for o in orders],
        next_cursor=next_cursor,
    )


@router.get("/{order_id}", response_model=OrderOut, summary="Get an order")
def get_order(
    order_id: RowId,
    session: SessionDep,
    merchant_id: MerchantDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> OrderOut:
    order = service.get_order(session, merchant_id, order_id)
    shipments = service.shipments_of(session, [order.id])[order.id]
    news = service.shipments_news(session, shipments, clock.now())
    return service.order_out(order, shipments, settings.base_url, news)


@router.post(
    "/{order_id}/shipments",
    status_code=status.HTTP_201_CREATED,
    response_model=ShipmentOut,
    responses={
        200: {"description": "Already registered: the existing shipment.", "model": ShipmentOut}
    },
    summary="Add a shipment (split fulfilment)",
)
def add_shipment(
    order_id: RowId,
    body: ShipmentCreate,
    response: Response,
    session: SessionDep,
    merchant_id: MerchantDep,
    clock: ClockDep,
) -> ShipmentOut:
    now = clock.now()
    shipment, created = service.add_shipment(session, merchant_id, order_id, body, now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.shipment_out(
        shipment, service.shipments_news(session, [shipment], now)[shipment.id]
    )


@router.get("/{order_id}/events", response_model=list[EventOut], summary="The order's timeline")
def order_events(order_id: RowId, session: SessionDep, merchant_id: MerchantDep) -> list[EventOut]:
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
