from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class RouteStop(Base):
    """A shipment's place in a courier's day.

    ``planned_at`` is the arrival the plan computed; ``window_*`` the window the
    shopper is shown. A ``locked`` stop keeps its courier when the day is re-planned
    (its place in that courier's order may change); a delivered one
    (``delivered_at``) is never moved.
    """

    __tablename__ = "route_stops"
    __table_args__ = (
        UniqueConstraint("plan_id", "shipment_id"),
        Index("ix_route_stops_shipment", "shipment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("route_shifts.id", ondelete="CASCADE"))
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    sequence: Mapped[int]
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    locked: Mapped[bool] = mapped_column(default=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
