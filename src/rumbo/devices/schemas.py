"""The store's view of its courier devices and their routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from rumbo.events.status import Status
from rumbo.kit.schemas import RowId, ShortText, StrictModel

DeviceIdentifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.:-]{1,128}$"),
]


class DeviceCreate(StrictModel):
    device_id: DeviceIdentifier | None = Field(
        None,
        description="What the device sends: Traccar Client's device identifier (OsmAnd `id`), "
        "or the `{device_id}` of its MQTT topic `rumbo/devices/{device_id}/position`. It is the "
        "device's only credential: leave it out and Rumbo generates one of 128 random bits "
        "(recommended; Traccar Client's default six digits can be guessed).",
    )
    name: ShortText

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"name": "Moto 7 — Carla"}]},
    }


class DevicePositionOut(BaseModel):
    """The latest believable fix, at full precision (the store's own courier)."""

    lat: float
    lon: float
    recorded_at: datetime
    speed_kmh: float | None
    heading: float | None
    accuracy_m: float | None
    battery: float | None


class DeviceOut(BaseModel):
    device_id: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None = Field(description="When Rumbo last heard from it.")
    position: DevicePositionOut | None


class RouteUpdate(StrictModel):
    shipment_ids: list[RowId] = Field(
        max_length=500, description="The complete route: replaces the device's current one."
    )


class RouteStop(BaseModel):
    shipment_id: int
    order_id: int
    tracking_code: str
    carrier: str
    tracking_number: str
    status: Status
    assigned_at: datetime
    arriving_soon_at: datetime | None = Field(
        description="When an accepted fix first put the courier within "
        "RUMBO_ARRIVING_SOON_METERS of the destination; set once."
    )


class RouteOut(BaseModel):
    device_id: str
    stops: list[RouteStop]
