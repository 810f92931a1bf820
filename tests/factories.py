"""Small builders of valid request bodies (and of events as ingestion receives them);
tests override what they care about."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import orjson

from rumbo.events.service import NormalizedEvent
from rumbo.events.status import Status

_seq = itertools.count(1)


def order_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "external_id": f"PED-{n:06d}",
        "customer": {
            "name": "Ana Souza",
            "email": f"ana{n}@example.com",
            "phone": "+5511998765432",
            "locale": "pt-BR",
            "postal_code": "01310-100",
        },
        "destination": {
            "line1": "Av. Paulista, 1000",
            "city": "São Paulo",
            "state": "SP",
            "postal_code": "01310-100",
            "country": "BR",
        },
        "items": [{"sku": "TSHIRT-M", "name": "Camiseta", "quantity": 2}],
        "promised_delivery_date": "2026-12-05",
        "placed_at": "2026-11-20T10:00:00-03:00",
    }
    body.update(overrides)
    return body


def event_body(order: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "event_id": f"ev-{n}",
        "source": "carrier",
        "status": "in_transit",
        "occurred_at": "2026-11-21T09:00:00-03:00",
        "location": {"city": "Curitiba", "state": "PR", "country": "BR"},
        "description": "Objeto em trânsito",
    }
    if order is not None:
        body["tracking_code"] = order["tracking_code"]
    body.update(overrides)
    return body


def at(base: str, **delta: float) -> str:
    return (datetime.fromisoformat(base) + timedelta(**delta)).isoformat()


def carrier_event(code: str, event_id: str, status: Status | None, at: datetime) -> NormalizedEvent:
    """A carrier's event for the order with tracking ``code``, as ingestion receives it."""
    return NormalizedEvent(
        source="carrier",
        event_id=event_id,
        status=status,
        occurred_at=at,
        raw=orjson.dumps({"id": event_id}).decode(),
        tracking_code=code,
    )
