from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from rumbo.analytics.service import GroupBy, Stage

_STAGE_EXAMPLE: dict[str, JsonValue] = {"orders": 1180, "p50_days": 2.08, "p90_days": 5.63}


class StageOut(BaseModel):
    orders: int = Field(description="Orders that went through the stage in the range.")
    p50_days: float | None = Field(description="Median duration, days.")
    p90_days: float | None = Field(description="90th percentile, days.")


class FiguresOut(BaseModel):
    group: str | None = Field(description="The group's value (null for all orders).")
    orders: int = Field(description="Orders purchased in the range.")
    delivered: int
    on_time_judged: int = Field(description="Delivered orders that had a promised date.")
    on_time_rate: float | None = Field(
        description="Share of those delivered by the end of the promised day (destination's clock)."
    )
    exceptions: int = Field(description="Exception events (held, damaged, address problem…).")
    failed_attempts: int = Field(description="Failed delivery attempts.")
    stages: dict[Stage, StageOut]


_FIGURES_EXAMPLE: dict[str, JsonValue] = {
    "group": "correios-pac",
    "orders": 1204,
    "delivered": 1130,
    "on_time_judged": 1130,
    "on_time_rate": 0.9381,
    "exceptions": 12,
    "failed_attempts": 31,
    "stages": {
        "approval": {"orders": 1188, "p50_days": 0.02, "p90_days": 1.92},
        "handling": _STAGE_EXAMPLE,
        "transit": {"orders": 1130, "p50_days": 7.15, "p90_days": 15.2},
        "last_mile": {"orders": 0, "p50_days": None, "p90_days": None},
    },
}


class StaleOut(BaseModel):
    """Open shipments with no news for longer than usual, as of now (not the range)."""

    open: int
    stale: int


class OverviewOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2025-01-01",
                    "end": "2025-04-01",
                    "group_by": "carrier",
                    "total": {**_FIGURES_EXAMPLE, "group": None},
                    "groups": [_FIGURES_EXAMPLE],
                    "stale_now": {"open": 210, "stale": 14},
                }
            ]
        }
    )

    start: date = Field(description="First purchase day included.")
    end: date = Field(description="First purchase day no longer included.")
    group_by: GroupBy | None
    total: FiguresOut
    groups: list[FiguresOut] = Field(description="Largest volume first.")
    stale_now: StaleOut


class BottleneckOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "stage": "transit",
                    "group_by": "lane",
                    "group": "SP>PA",
                    "orders": 2556,
                    "median_days": 11.01,
                    "normal_days": 5.79,
                    "excess_days": 5.23,
                    "cost_days": 13359.8,
                }
            ]
        }
    )

    stage: Stage
    group_by: GroupBy
    group: str
    orders: int = Field(description="Orders of the group that went through the stage.")
    median_days: float
    normal_days: float = Field(description="Median of all orders for this stage.")
    excess_days: float = Field(description="Median minus normal: days lost per order.")
    cost_days: float = Field(description="Excess days × orders: what this costs the store.")


class WeekOut(BaseModel):
    week: date = Field(description="Monday of the purchase week (destination's clock).")
    delivered: int = Field(description="Delivered orders with a promise, purchased that week.")
    on_time_rate: float | None


class WeekSeriesOut(BaseModel):
    group: str
    weeks: list[WeekOut]


class OnTimeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2025-01-06",
                    "end": "2025-01-20",
                    "group_by": "carrier",
                    "total": [
                        {"week": "2025-01-06", "delivered": 708, "on_time_rate": 0.952},
                        {"week": "2025-01-13", "delivered": 702, "on_time_rate": 0.9615},
                    ],
                    "groups": [
                        {
                            "group": "jadlog",
                            "weeks": [
                                {"week": "2025-01-06", "delivered": 140, "on_time_rate": 0.95}
                            ],
                        }
                    ],
                }
            ]
        }
    )

    start: date
    end: date
    group_by: GroupBy | None
    total: list[WeekOut]
    groups: list[WeekSeriesOut] = Field(description="The largest groups, by volume.")


class HistogramOut(BaseModel):
    orders: int
    p50_days: float | None
    p90_days: float | None
    edges_days: list[float] = Field(
        description="Bin i counts durations in [edges[i], edges[i+1]); the last bin is "
        "[edges[-1], ∞)."
    )
    counts: list[int] = Field(description="One per edge: orders in the bin starting there.")


_HISTOGRAM_EXAMPLE: dict[str, JsonValue] = {
    "orders": 93864,
    "p50_days": 5.79,
    "p90_days": 14.0,
    "edges_days": [0.0, 2.0, 4.0, 6.0],
    "counts": [14678, 19297, 16615, 43274],
}


class StageGroupOut(BaseModel):
    group: str
    stages: dict[Stage, HistogramOut]


class StagesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2025-01-01",
                    "end": "2025-04-01",
                    "group_by": None,
                    "total": {"transit": _HISTOGRAM_EXAMPLE},
                    "groups": [],
                }
            ]
        }
    )

    start: date
    end: date
    group_by: GroupBy | None
    total: dict[Stage, HistogramOut]
    groups: list[StageGroupOut] = Field(
        description="The largest groups, binned like the total so they compare."
    )


class HeatCellOut(BaseModel):
    origin: str = Field(description="Origin (seller's) state.")
    destination: str = Field(description="Destination state.")
    orders: int
    delivered: int
    median_delivery_days: float | None = Field(description="Purchase → delivery, median.")
    median_transit_days: float | None
    on_time_rate: float | None


class LanesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2025-01-01",
                    "end": "2025-04-01",
                    "origins": ["SP"],
                    "destinations": ["PA", "RJ"],
                    "cells": [
                        {
                            "origin": "SP",
                            "destination": "PA",
                            "orders": 2556,
                            "delivered": 2391,
                            "median_delivery_days": 14.2,
                            "median_transit_days": 11.01,
                            "on_time_rate": 0.91,
                        }
                    ],
                }
            ]
        }
    )

    start: date
    end: date
    origins: list[str]
    destinations: list[str]
    cells: list[HeatCellOut]


class ChannelOut(BaseModel):
    channel: str = Field(description="email, sms, whatsapp, push, or none (no message reached).")
    sent: int
    delivered: int | None = Field(description="Where the channel reports it (WhatsApp).")
    read: int | None = Field(description="Where the channel reports it (WhatsApp).")
    failed: int
    orders: int = Field(description="Orders at least one message on this channel reached.")
    wismo: int = Field(description="Where-is-it and delay inquiries about those orders.")
    wismo_per_100_orders: float | None


class ChannelsOut(BaseModel):
    start: date
    end: date
    channels: list[ChannelOut]
