from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class StaleThreshold(Base):
    """How long a shipment at ``stage`` usually goes without news, learnt from the
    merchant's delivered shipments (see ``rumbo.events.stale``).

    One row per scope that had enough history: a lane (``lane`` = "SP>RJ"), a carrier,
    or the whole store (both empty); ``stage`` empty means any stage. Rebuilt whole by
    the worker's periodic refresh.
    """

    __tablename__ = "stale_thresholds"
    __table_args__ = (UniqueConstraint("merchant_id", "carrier", "lane", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    carrier: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(32))
    gap_seconds: Mapped[int]
    samples: Mapped[int]
    learnt_at: Mapped[datetime] = mapped_column(UTCDateTime())
