from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class CarrierCodeMapping(Base):
    """A merchant's own status for a carrier code Rumbo's tables leave informational."""

    __tablename__ = "carrier_code_mappings"
    __table_args__ = (UniqueConstraint("merchant_id", "carrier", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    carrier: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
