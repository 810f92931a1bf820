from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from rumbo.events.status import Status
from rumbo.kit.schemas import Place, ShortText, StrictModel

Source = Literal["store", "payment", "warehouse", "carrier", "device", "agent"]
EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class EventIn(StrictModel):
    """One event from any source, addressed to an order or to one of its shipments."""

    event_id: EventId = Field(
        description="The source's own id; the same (source, event_id) is stored once."
    )
    source: Source
    tracking_code: ShortText | None = Field(None, description="Rumbo's tracking code of the order.")
    external_id: ShortText | None = Field(None, description="The store's order id.")
    carrier: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64),
        ]
        | None
    ) = None
    tracking_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    status: Status
    occurred_at: AwareDatetime = Field(description="When it happened, with a time zone offset.")
    location: Place | None = None
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    raw: Any = Field(None, description="The original payload, kept verbatim beside the event.")

    @model_validator(mode="after")
    def _has_one_target(self) -> EventIn:
        if not 1990 <= self.occurred_at.year <= 2100:
            raise ValueError("occurred_at must be between the years 1990 and 2100")
        if (self.carrier is None) != (self.tracking_number is None):
            raise ValueError("carrier and tracking_number go together")
        if self.tracking_code is None and self.external_id is None and self.carrier is None:
            raise ValueError(
                "address the event with tracking_code, external_id or carrier + tracking_number"
            )
        if self.tracking_code is not None and self.external_id is not None:
            raise ValueError("give tracking_code or external_id, not both")
        return self

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "event_id": "wh-88412",
                    "source": "warehouse",
                    "external_id": "PED-100234",
                    "status": "preparing",
                    "occurred_at": "2026-11-23T14:05:00-03:00",
                    "location": {"city": "Cajamar", "state": "SP", "country": "BR"},
                    "description": "Picking started",
                },
                {
                    "event_id": "SRO-PN123456789BR-OEC-20261124T0812",
                    "source": "carrier",
                    "carrier": "correios",
                    "tracking_number": "PN123456789BR",
                    "status": "out_for_delivery",
                    "occurred_at": "2026-11-24T08:12:00-03:00",
                    "location": {"city": "São Paulo", "state": "SP", "country": "BR"},
                    "raw": {
                        "tipo": "OEC",
                        "status": "01",
                        "descricao": "Objeto saiu para entrega ao destinatário",
                    },
                },
            ]
        },
    }


Outcome = Literal["accepted", "duplicate", "rejected"]


class ItemError(BaseModel):
    code: str
    message: str
    details: Any = None


class EventResult(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    event_id: str | None
    outcome: Outcome
    id: int | None = Field(
        None, description="Rumbo's id of the stored event (accepted or duplicate)."
    )
    order_id: int | None = None
    error: ItemError | None = None


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]


class LocationOut(BaseModel):
    city: str | None
    state: str | None
    country: str | None
    lat: float | None = None
    lon: float | None = None


class EventOut(BaseModel):
    id: int
    event_id: str
    source: Source
    status: Status | None = Field(
        description="null: an informational update that does not move the status."
    )
    occurred_at: datetime
    received_at: datetime
    shipment_id: int | None
    code: str | None
    description: str | None
    location: LocationOut | None
    raw: Any
