"""The facts the assistant may state about an order: one pure builder over the order's
rows (:func:`order_facts`) and its loader from the database (:func:`facts_for`).

The assistant's own evaluation builds its scenarios through :func:`order_facts` too, so
what it measures is what production states (the destination's time zone above all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.assistant.facts import (
    ArrivalWindow,
    DeliveryPrediction,
    LastEvent,
    OrderFacts,
    ShipmentFacts,
    SupportContact,
)
from rumbo.events.status import EXCEPTIONS, TERMINAL, Status
from rumbo.kit.timezones import zone_name_of
from rumbo.models import Event, Merchant, Order, Shipment
from rumbo.orders.service import sort_timeline


def facts_for(
    session: Session,
    order: Order,
    now: datetime | None = None,
    arrival_window: ArrivalWindow | None = None,
) -> OrderFacts:
    """Everything true about ``order`` that a shopper may be told (personal fields
    are filled too; the assistant states them only to a verified visitor)."""
    merchant = session.get_one(Merchant, order.merchant_id)
    shipments = list(
        session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id))
    )
    events = list(session.scalars(select(Event).where(Event.order_id == order.id)))
    return order_facts(order, merchant, shipments, events, now=now, arrival_window=arrival_window)


def order_facts(
    order: Order,
    merchant: Merchant,
    shipments: Sequence[Shipment],
    events: Sequence[Event],
    *,
    now: datetime | None = None,
    arrival_window: ArrivalWindow | None = None,
) -> OrderFacts:
    """The facts of ``order`` from its rows (stored or not): no storage is read here."""
    timeline = sort_timeline(list(events))
    last = timeline[-1] if timeline else None
    exceptions = [e for e in timeline if e.status and Status(e.status) in EXCEPTIONS]
    destination = order.destination or {}
    address = ", ".join(
        part
        for part in (
            destination.get("line1"),
            destination.get("line2"),
            destination.get("city"),
            destination.get("state"),
            destination.get("postal_code"),
        )
        if part
    )
    return OrderFacts(
        status=Status(order.status),
        status_changed_at=order.status_at,
        last_event=LastEvent(
            description=last.description,
            city=last.city,
            state=last.state,
            occurred_at=last.occurred_at,
        )
        if last
        else None,
        promised_delivery_date=order.promised_delivery_date,
        prediction=DeliveryPrediction(
            estimated=order.eta_estimated.date(),
            earliest=order.eta_earliest.date() if order.eta_earliest else None,
            latest=order.eta_latest.date() if order.eta_latest else None,
        )
        if order.eta_estimated is not None and Status(order.status) not in TERMINAL
        else None,
        risk=order.risk if order.risk in ("on_track", "at_risk", "late") else None,  # type: ignore[arg-type]
        shipments=tuple(ShipmentFacts(s.carrier, s.tracking_number) for s in shipments),
        exception_description=exceptions[-1].description if exceptions else None,
        shipments_count=order.shipments_total,
        delivered_count=order.shipments_delivered,
        # The shopper's clock: the same zone rule as the tracking page's.
        destination_timezone=zone_name_of(destination),
        customer_locale=order.customer_locale,
        support=SupportContact(merchant.support_email, merchant.support_phone, merchant.support_url)
        if (merchant.support_email or merchant.support_phone or merchant.support_url)
        else None,
        customer_first_name=(order.customer_name or "").split(" ")[0] or None,
        destination_address=address or None,
        as_of=now,
        arrival_window=arrival_window
        if arrival_window is not None and Status(order.status) is Status.OUT_FOR_DELIVERY
        else None,
    )
