"""What the assistant knows about an order (``OrderFacts``) and what it says (``Answer``).

Plain frozen dataclasses, filled by the caller from the database: the assistant never
reads storage, so every sentence it writes can be traced to one of these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from rumbo.assistant.intents import Intent
from rumbo.events.status import Status

Risk = Literal["on_track", "at_risk", "late"]


@dataclass(frozen=True, slots=True)
class LastEvent:
    description: str | None = None  # as the carrier/source worded it
    city: str | None = None
    state: str | None = None
    occurred_at: datetime | None = None  # timezone-aware


@dataclass(frozen=True, slots=True)
class DeliveryPrediction:
    estimated: date
    earliest: date | None = None
    latest: date | None = None


@dataclass(frozen=True, slots=True)
class ArrivalWindow:
    """When the courier expects to reach the door today (timezone-aware instants)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    carrier: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True, slots=True)
class SupportContact:
    email: str | None = None
    phone: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    status: Status
    status_changed_at: datetime | None = None
    last_event: LastEvent | None = None
    promised_delivery_date: date | None = None
    prediction: DeliveryPrediction | None = None
    risk: Risk | None = None
    shipments: tuple[ShipmentFacts, ...] = ()
    exception_description: str | None = None  # the latest exception's description
    shipments_count: int = 0
    delivered_count: int = 0
    destination_timezone: str | None = None  # IANA name, e.g. "America/Sao_Paulo"
    customer_locale: str | None = None  # e.g. "pt-BR"; used when the question's language is unclear
    support: SupportContact | None = None
    # Personal data: only ever stated when the visitor is verified.
    customer_first_name: str | None = None
    destination_address: str | None = None
    as_of: datetime | None = None  # when these facts were read: "today" is that day, there
    arrival_window: ArrivalWindow | None = None  # the courier's, while out for delivery


# Names used in Answer.facts_used: one per OrderFacts field or nested field stated.
FactName = str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    intent: Intent  # Intent.UNKNOWN when the classifier was not confident enough
    confidence: float  # calibrated probability of the predicted intent, 0..1
    lang: str  # "pt-BR", "es" or "en": the language of ``text``
    handover: bool  # the caller should open an inquiry for a person
    facts_used: frozenset[FactName] = field(default_factory=frozenset)
