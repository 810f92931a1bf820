from __future__ import annotations

from sqlalchemy import Boolean, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base


class RateLimitCounter(Base):
    """One abuse-limit key's state, shared by every process on PostgreSQL
    (see ``rumbo.kit.counters``). Times are Unix seconds.

    Sliding windows keep ``started`` (start of the current fixed window), ``previous``
    and ``current`` (hits in the previous and current window); growing delays keep
    ``started`` (last failure), ``previous`` (refused until) and ``current`` (failures).
    """

    __tablename__ = "rate_limit_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    started: Mapped[float] = mapped_column(Float)
    previous: Mapped[float] = mapped_column(Float)
    current: Mapped[float] = mapped_column(Float)
    # Whether the last attempt was counted (under the limit): the upsert reports it back.
    admitted: Mapped[bool] = mapped_column(Boolean)
    # Rows past this are forgotten by the periodic sweep.
    expires_at: Mapped[float] = mapped_column(Float, index=True)
