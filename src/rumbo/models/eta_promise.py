from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class EtaPromise(Base):
    """A delivery-date prediction as it was shown for an order, kept for good.

    The re-scoring job writes one row whenever the dates an order shows change (see
    ``rumbo.eta.rescore``), so promise accuracy is measured on what shoppers actually
    saw at the time, not recomputed with today's model.
    """

    __tablename__ = "eta_promises"
    __table_args__ = (
        Index("ix_eta_promises_merchant_order", "merchant_id", "order_id", "shown_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shown_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(32))  # the order's status when it was shown
    estimated: Mapped[datetime] = mapped_column(UTCDateTime())
    earliest: Mapped[datetime] = mapped_column(UTCDateTime())
    latest: Mapped[datetime] = mapped_column(UTCDateTime())
    model_version: Mapped[str] = mapped_column(String(64))
