"""The facts the assistant may state about an order, read from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rumbo.assistant.facts import (
    DeliveryPrediction,
    LastEvent,
    OrderFacts,
    ShipmentFacts,
    SupportContact,
)
from rumbo.events.status import EXCEPTIONS, TERMINAL, Status
from rumbo.models import Event, Merchant, Order, Shipment
from rumbo.orders.service import sort_timeline


def facts_for(session: Session, order: Order) -> OrderFacts:
    """Everything true about ``order`` that a shopper may be told (personal fields
    are filled too; the assistant states them only to a verified visitor)."""
    merchant = session.get_one(Merchant, order.merchant_id)
    shipments = list(
        session.scalars(select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id))
    )
    events = sort_timeline(list(session.scalars(select(Event).where(Event.order_id == order.id))))
    last = events[-1] if events else None
    exceptions = [e for e in events if e.status and Status(e.status) in EXCEPTIONS]
    destination = order.destination
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
        customer_locale=order.customer_locale,
        support=SupportContact(merchant.support_email, merchant.support_phone, merchant.support_url)
        if (merchant.support_email or merchant.support_phone or merchant.support_url)
        else None,
        customer_first_name=(order.customer_name or "").split(" ")[0] or None,
        destination_address=address or None,
    )
