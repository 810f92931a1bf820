"""Pydantic pieces shared by several domains."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Language = Literal["pt-BR", "es", "en"]
CountryCode = Annotated[
    str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", to_upper=True)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A stored row's id: both databases keep signed 64-bit integers, so a larger number is
# a 422 here rather than an overflow in the driver.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class StrictModel(BaseModel):
    """Input models reject unknown fields, so a typo is a clear 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Place(StrictModel):
    city: ShortText | None = None
    state: ShortText | None = None
    country: CountryCode | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
