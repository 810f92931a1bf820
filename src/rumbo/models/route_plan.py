from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class RoutePlan(Base):
    """One depot's delivery day: at most one per depot and day (creating is idempotent).

    ``travel`` is the travel-time model the plan was made with (circuity, speed by
    hour); ``not_routable`` lists the shipments left out and why, so none is dropped
    silently.
    """

    __tablename__ = "route_plans"
    __table_args__ = (UniqueConstraint("depot_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    depot_id: Mapped[int] = mapped_column(ForeignKey("route_depots.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(default=1)
    service_seconds: Mapped[int]
    travel: Mapped[dict[str, Any]] = mapped_column(JSON)
    not_routable: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
