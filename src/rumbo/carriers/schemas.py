"""Request and response bodies of the carrier endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from rumbo.events.status import Status
from rumbo.kit.schemas import StrictModel

# No control characters: PostgreSQL refuses NUL in text, and none belongs in a code or secret.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
SigningSecret = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=_PRINTABLE),
]
CarrierCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=_PRINTABLE),
]


class ConnectionIn(StrictModel):
    """Omit ``signing_secret`` to keep the one stored; send null to remove it."""

    signing_secret: SigningSecret | None = Field(
        None,
        description="The webhook secret the aggregator shows in its dashboard (EasyPost, "
        "AfterShip) or the one you gave your relay (SEUR, CTT Express, Correos). With it, "
        "every delivery must carry a valid signature.",
    )

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"signing_secret": "whsec_from_the_dashboard"}, {}]},
    }


class ConnectionCreated(BaseModel):
    carrier: str
    webhook_url: str = Field(
        description="Paste this into the carrier's or aggregator's dashboard. Its token is "
        "shown only now; PUT again to rotate it (the old URL stops working)."
    )
    signature_header: str | None = Field(
        description="The header the sender signs with; null when the sender does not sign "
        "(Shippo, Correios polling): the secret URL token is then the only credential."
    )
    signs: bool = Field(description="Deliveries must carry a valid signature.")


class ConnectionOut(BaseModel):
    carrier: str
    signature_header: str | None
    signs: bool
    created_at: datetime


class Suggestion(BaseModel):
    status: Status | None = Field(
        description="The canonical status Rumbo's known descriptions point to; null: "
        "informational, or nothing close enough to guess."
    )
    confidence: float = Field(ge=0, le=1)


class UnmappedCode(BaseModel):
    carrier: str
    code: str
    text: str | None = Field(description="What the carrier said (its latest wording).")
    count: int = Field(description="How many stored events carry this code.")
    first_seen: datetime
    last_seen: datetime
    suggestion: Suggestion


class MappingIn(StrictModel):
    code: CarrierCode = Field(description="The code exactly as listed by GET /unmapped.")
    status: Status

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"code": "ZZ01", "status": "available_for_pickup"}]},
    }


class MappingOut(BaseModel):
    carrier: str
    code: str
    status: Status
    created_at: datetime
    events_updated: int = Field(description="Stored events that took the new status.")
    orders_rederived: int
