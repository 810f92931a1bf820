from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from rumbo.events.status import Status
from rumbo.kit.schemas import StrictModel
from rumbo.orders.schemas import AddressOut, Item


class PublicPlace(BaseModel):
    city: str | None
    state: str | None
    country: str | None


class Milestone(BaseModel):
    status: Status
    reached: bool = Field(description="The order got here (or past it).")
    reached_at: datetime | None = Field(
        description="When an event said so; null if not reached, or passed without an event."
    )
    place: PublicPlace | None = None


class PublicShipment(BaseModel):
    carrier: str
    tracking_number: str
    service: str | None
    status: Status
    status_at: datetime | None


class PublicEvent(BaseModel):
    status: Status | None = Field(description="null: an informational update from the carrier.")
    occurred_at: datetime
    description: str | None
    place: PublicPlace | None
    source: str
    carrier: str | None = None
    tracking_number: str | None = None


class Store(BaseModel):
    name: str
    logo_url: str | None
    accent_color: str | None
    support_email: str | None
    support_phone: str | None
    support_url: str | None


class CourierPosition(BaseModel):
    """Where the courier carrying the parcel was last seen, rounded to ~100 m."""

    lat: float
    lon: float
    recorded_at: datetime


class ArrivalOut(BaseModel):
    """The courier's day: this parcel is stop ``stop`` of ``stops``, expected in the window."""

    stop: int
    stops: int
    window_start: datetime
    window_end: datetime


class PrivateDetail(BaseModel):
    """Shown only after the visitor proved they own the order."""

    customer_name: str | None
    destination: AddressOut
    items: list[Item]
    courier: CourierPosition | None = Field(
        None, description="While a parcel is out for delivery on a tracked courier device."
    )
    arrival: ArrivalOut | None = Field(
        None,
        description="While a parcel is on the store's planned courier route: its place in the "
        "day and the arrival window, updated from the courier's progress.",
    )


class PublicPrediction(BaseModel):
    """When the order should arrive, from the store's own delivery history."""

    estimated_delivery: datetime
    earliest: datetime | None
    latest: datetime | None


class PublicTracking(BaseModel):
    tracking_code: str
    status: Status
    status_at: datetime | None
    partially_delivered: bool
    placed_at: datetime
    promised_delivery_date: date | None
    prediction: PublicPrediction | None = Field(
        None, description="Predicted delivery with its range while the order is on its way."
    )
    destination: PublicPlace
    language: str
    store: Store
    milestones: list[Milestone]
    shipments: list[PublicShipment]
    timeline: list[PublicEvent]
    verified: bool
    private: PrivateDetail | None = None


class VerifyRequest(StrictModel):
    postal_code: str | None = Field(None, max_length=20)
    email: str | None = Field(None, max_length=320)

    @model_validator(mode="after")
    def _one_answer(self) -> VerifyRequest:
        if not (self.postal_code or self.email):
            raise ValueError("send the destination postal_code or the e-mail of the order")
        return self

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"postal_code": "01310-100"}]},
    }


class VerifyResponse(BaseModel):
    token: str = Field(description="Send as the X-Tracking-Token header to see the full detail.")
    expires_at: datetime
