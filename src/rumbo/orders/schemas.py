from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from rumbo.events.schemas import ItemError
from rumbo.events.status import Status
from rumbo.kit.schemas import CountryCode, Language, ShortText, StrictModel

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()\-.]{6,25}$")]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20)]


class Customer(StrictModel):
    name: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Language = "en"
    postal_code: PostalCode | None = None


class Address(StrictModel):
    line1: ShortText | None = None
    line2: ShortText | None = None
    city: ShortText
    state: ShortText | None = None
    postal_code: PostalCode | None = None
    country: CountryCode
    # Where the courier delivers (devices' "arriving soon"). Left out of dumps when
    # unknown, so stored destinations and idempotency hashes of older orders hold.
    lat: float | None = Field(None, ge=-90, le=90, exclude_if=lambda v: v is None)
    lon: float | None = Field(None, ge=-180, le=180, exclude_if=lambda v: v is None)


class AddressOut(BaseModel):
    """An address as stored: imported histories may lack parts an API client must send."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None


class Item(StrictModel):
    sku: ShortText | None = None
    name: ShortText
    quantity: int = Field(1, ge=1, le=100_000)
    unit_price: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)


class OrderCreate(StrictModel):
    external_id: ShortText = Field(
        description="The store's own order id; creation is idempotent on it."
    )
    customer: Customer
    destination: Address
    origin: Address | None = None
    items: list[Item] = Field(default_factory=list, max_length=500)
    promised_delivery_date: date | None = None
    placed_at: AwareDatetime | None = Field(
        None, description="When the shopper ordered; default now."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "external_id": "PED-100234",
                    "customer": {
                        "name": "Ana Souza",
                        "email": "ana@example.com",
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
                }
            ]
        },
        "extra": "forbid",
    }


class ShipmentCreate(StrictModel):
    carrier: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
    ]
    tracking_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    # Stored in 100 characters (shipments.service).
    service: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"carrier": "correios", "tracking_number": "PN123456789BR", "service": "SEDEX"}
            ]
        },
        "extra": "forbid",
    }


class ShipmentOut(BaseModel):
    id: int
    carrier: str
    tracking_number: str
    service: str | None
    status: Status
    status_at: datetime | None
    created_at: datetime
    last_event_at: datetime | None = Field(
        description="The parcel's latest news: its own events and the order-wide ones."
    )
    usual_gap_hours: float = Field(
        description="How long parcels of this lane usually go without news at this stage, "
        "learnt from the store's delivered ones (carrier or store-wide when the lane has "
        "too little history)."
    )
    stale: bool = Field(description="Still open and without news for longer than the usual gap.")
    stale_since: datetime | None = Field(
        description="When it became stale (latest news + usual gap); null unless stale."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 42,
                    "carrier": "correios",
                    "tracking_number": "PN123456789BR",
                    "service": "SEDEX",
                    "status": "in_transit",
                    "status_at": "2026-11-20T14:05:00Z",
                    "created_at": "2026-11-19T18:00:00Z",
                    "last_event_at": "2026-11-20T14:05:00Z",
                    "usual_gap_hours": 26.5,
                    "stale": True,
                    "stale_since": "2026-11-21T16:35:00Z",
                }
            ]
        }
    }


class StatusDetail(BaseModel):
    shipments_total: int
    shipments_delivered: int
    partially_delivered: bool


class EtaSummary(BaseModel):
    """The latest prediction stored on the order (re-scored periodically)."""

    estimated_delivery: datetime
    earliest: datetime | None
    latest: datetime | None
    on_time_probability: float | None
    risk: Literal["on_track", "at_risk", "late"]
    model_version: str | None
    scored_at: datetime | None


class OrderOut(BaseModel):
    id: int
    external_id: str
    tracking_code: str
    tracking_url: str
    status: Status
    status_at: datetime | None
    status_detail: StatusDetail
    customer: Customer
    destination: AddressOut
    origin: AddressOut | None
    items: list[Item]
    promised_delivery_date: date | None
    placed_at: datetime
    created_at: datetime
    updated_at: datetime
    last_event_at: datetime | None
    eta: EtaSummary | None = Field(None, description="null until a model has scored the order.")
    shipments: list[ShipmentOut]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class OrderResult(BaseModel):
    index: int = Field(description="Position of the item in the request.")
    external_id: str | None
    outcome: Literal["created", "existing", "rejected"] = Field(
        description="`existing`: this external_id was created before with the same body."
    )
    order: OrderOut | None = None
    error: ItemError | None = None


class OrderBatchResponse(BaseModel):
    created: int
    existing: int
    rejected: int
    results: list[OrderResult]
