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
    device_id: str = Field(
        description="The store's handle for the device in this API: the chosen identifier, "
        "or the first 8 hex digits of a generated one."
    )
    name: str
    created_at: datetime
    last_seen_at: datetime | None = Field(description="When Rumbo last heard from it.")
    position: DevicePositionOut | None


class DeviceCreated(DeviceOut):
    secret: str = Field(
        description="What the device sends: Traccar Client's Device identifier (OsmAnd `id`) "
        "and the `{device_id}` of its MQTT topic. Shown only here: Rumbo keeps its hash."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "device_id": "9f3c2a71",
                    "secret": "9f3c2a71d04be8c65a1f7e2b93c4d580",
                    "name": "Moto 7 — Carla",
                    "created_at": "2026-11-23T12:00:00Z",
                    "last_seen_at": None,
                    "position": None,
                }
            ]
        }
    }


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
