from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class Shipment(Base):
    """One parcel of an order, with a carrier and its tracking number (split fulfilment).

    ``own_status*`` is the greatest status key among this shipment's own events;
    ``status`` is the greater of that and the order-wide key.
    """

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_number", "merchant_id", "tracking_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(64))
    tracking_number: Mapped[str] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    status: Mapped[str] = mapped_column(String(32))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    own_status: Mapped[str | None] = mapped_column(String(32))
    own_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    own_status_tiebreak: Mapped[str | None] = mapped_column(String(300))
