from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from rumbo.analytics.service import GroupBy, Stage


class StageOut(BaseModel):
    orders: int = Field(description="Orders that went through the stage in the range.")
    p50_days: float | None
    p90_days: float | None


class FiguresOut(BaseModel):
    group: str | None = Field(description="The group's value (null for all orders).")
    orders: int
    delivered: int
    on_time_rate: float | None = Field(
        description="Delivered by the promised day, of those with a promise."
    )
    exceptions: int
    failed_attempts: int
    stages: dict[Stage, StageOut]


class OverviewOut(BaseModel):
    start: date
    end: date
    group_by: GroupBy | None
    total: FiguresOut
    groups: list[FiguresOut]


class BottleneckOut(BaseModel):
    stage: Stage
    group_by: GroupBy
    group: str
    orders: int
    median_days: float
    normal_days: float = Field(description="Median of all orders for this stage.")
    excess_days: float
    cost_days: float = Field(description="Excess days × orders: what this costs the store.")


class WeekOut(BaseModel):
    week: date = Field(description="Monday of the purchase week.")
    delivered: int
    on_time_rate: float | None
