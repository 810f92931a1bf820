from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EtaOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "estimated_delivery": "2025-07-09T14:20:00-03:00",
                    "earliest": "2025-07-08T10:05:00-03:00",
                    "latest": "2025-07-11T23:59:59-03:00",
                    "on_time_probability": 0.93,
                    "risk": "on_track",
                    "model_version": "20251201T120000Z-8ed8ccc2a9",
                }
            ]
        }
    )

    estimated_delivery: datetime = Field(description="The likely moment (the model's median).")
    earliest: datetime = Field(description="1 order in 10 arrives sooner (p10).")
    latest: datetime = Field(
        description="The end (last second, on the destination's clock) of the safe day: the "
        "p90 read as a calendar day and calibrated to break no more often than the store's "
        "own promises did (at most 1 order in 10)."
    )
    on_time_probability: float | None = Field(
        description="Chance of arriving by the end of the promised day; null without a promise."
    )
    risk: Literal["on_track", "at_risk", "late"]
    model_version: str
