from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class DeviceRoute(Base):
    """A shipment on a device's route. A device carries several; a shipment is on at
    most one device at a time (unique ``shipment_id``).

    ``arriving_soon_at``: when an accepted fix first put the courier within
    ``RUMBO_ARRIVING_SOON_METERS`` of the shipment's destination; set once.
    """

    __tablename__ = "device_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_pk: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), unique=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    arriving_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
