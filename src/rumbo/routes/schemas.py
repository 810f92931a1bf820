"""The store's routes API: depots, a day's plan, its couriers and stops."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from rumbo.devices.schemas import DeviceIdentifier
from rumbo.kit.schemas import RowId, ShortText, StrictModel

Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class DepotCreate(StrictModel):
    name: ShortText
    lat: Latitude
    lon: Longitude
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        "America/Sao_Paulo", description="IANA zone: the hour of day traffic follows."
    )

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"name": "Hub Pinheiros", "lat": -23.5668, "lon": -46.6917}]
        },
    }


class DepotOut(BaseModel):
    id: int
    name: str
    lat: float
    lon: float
    timezone: str


class ShiftIn(StrictModel):
    device_id: DeviceIdentifier = Field(description="A registered courier device.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(ge=1, le=1000, description="Parcels the courier can carry.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> ShiftIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if (self.ends_at - self.starts_at).total_seconds() > 24 * 3600:
            raise ValueError("a shift lasts at most 24 hours")
        return self


class PlanCreate(StrictModel):
    depot_id: RowId
    day: date
    shifts: list[ShiftIn] = Field(min_length=1, max_length=200)
    service_seconds: int = Field(180, ge=0, le=3600, description="Time spent at each door.")
    shipment_ids: list[RowId] | None = Field(
        None,
        max_length=5000,
        description="The parcels to plan; by default every shipment of yours that is shipped, "
        "out for delivery or whose delivery failed, not yet on another plan of the day.",
    )

    @model_validator(mode="after")
    def _one_shift_per_device(self) -> PlanCreate:
        devices = [shift.device_id for shift in self.shifts]
        if len(set(devices)) != len(devices):
            raise ValueError("one shift per device")
        return self

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "depot_id": 1,
                    "day": "2026-11-23",
                    "shifts": [
                        {
                            "device_id": "48241179",
                            "starts_at": "2026-11-23T08:00:00-03:00",
                            "ends_at": "2026-11-23T18:00:00-03:00",
                            "capacity": 120,
                        }
                    ],
                }
            ]
        },
    }


class StopOut(BaseModel):
    sequence: int = Field(description="1-based place in the courier's day.")
    shipment_id: int
    order_id: int
    lat: float
    lon: float
    planned_at: datetime
    window_start: datetime
    window_end: datetime
    locked: bool
    delivered_at: datetime | None


class CourierOut(BaseModel):
    device_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    stops: list[StopOut]


class NotRoutable(BaseModel):
    shipment_id: int
    order_id: int
    reason: Literal["no_coordinates", "no_courier_fits"]


class TravelOut(BaseModel):
    circuity: float
    speed_kmh_by_hour: list[float]
    legs_learnt: int
    heldout_legs: int
    heldout_mae_seconds: float | None = Field(
        description="Mean absolute error of leg times on the held-out tracks."
    )
    heldout_mape: float | None


class PlanOut(BaseModel):
    id: int
    depot_id: int
    day: date
    revision: int = Field(description="Bumped by every re-plan.")
    couriers: list[CourierOut]
    not_routable: list[NotRoutable]
    travel: TravelOut


class StopUpdate(StrictModel):
    locked: bool = Field(description="A locked stop keeps its courier when the day is re-planned.")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"locked": True}]}}


class ReplanIn(StrictModel):
    seconds: float = Field(5.0, ge=0.5, le=60, description="Time budget for the solver.")
