from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class Device(Base):
    """A courier's phone or tracker, known by the identifier it sends (OsmAnd ``id``,
    the MQTT topic), with its latest believable position (see ``accept_fix``).

    The identifier it sends is its only credential: only its SHA-256 is kept
    (``secret_hash``, looked up by hash). ``device_id`` is the store's handle for it in
    the API: the chosen identifier for devices registered with one, the first 8 hex
    digits of a generated 128-bit identifier otherwise (96 bits stay secret).
    """

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("merchant_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(128))
    # Unique across merchants: a device sends only its identifier, so it alone must name it.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)
