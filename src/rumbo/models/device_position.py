from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class DevicePosition(Base):
    """One stored fix of a device's track; kept compact, it is the largest table.

    ``flag`` says why a stored fix is not the device's latest (``out_of_order``,
    ``inaccurate``, ``implausible_jump``); ``raw`` is the request's own fields as
    compact JSON, for support.
    """

    __tablename__ = "device_positions"
    __table_args__ = (Index("ix_device_positions_device_time", "device_pk", "recorded_at"),)

    # 64-bit on PostgreSQL: at 2,000 fixes/s a 32-bit key runs out within two weeks.
    # SQLite's rowid is already 64-bit (and only INTEGER autoincrements).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    device_pk: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(String(16))
    raw: Mapped[str] = mapped_column(Text)
