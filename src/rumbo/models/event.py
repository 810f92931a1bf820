from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class Event(Base):
    """One normalised event with the raw payload it came from, kept verbatim.

    ``(merchant_id, source, event_id)`` is the idempotency key: the same event sent
    twice is stored once. ``status`` is NULL for informational updates (a carrier
    code not mapped yet): shown in the timeline, never moving the status.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("merchant_id", "source", "event_id"),
        Index("ix_events_order_time", "order_id", "occurred_at"),
        # Covers the analytics milestone aggregate (migration 0008).
        Index("ix_events_order_status_time", "order_id", "status", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(1000))
    city: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    raw: Mapped[str] = mapped_column(Text)
