from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class EtaOut(BaseModel):
    estimated_delivery: datetime = Field(description="The likely moment (the model's median).")
    earliest: datetime = Field(description="1 order in 10 arrives sooner (p10).")
    latest: datetime = Field(description="9 orders in 10 arrive by then (p90).")
    on_time_probability: float | None = Field(
        description="Chance of arriving by the end of the promised day; null without a promise."
    )
    risk: Literal["on_track", "at_risk", "late"]
    model_version: str
