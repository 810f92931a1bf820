from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class ShopperPreference(Base):
    """The shopper's channel choice for one order; NULL = not chosen (the rules decide)."""

    __tablename__ = "shopper_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    email: Mapped[bool | None]
    sms: Mapped[bool | None]
    # WhatsApp needs the shopper's opt-in (Meta's Business Messaging Policy): when and
    # where it was given ("page" or "store"), kept as the record of consent.
    whatsapp: Mapped[bool | None]
    whatsapp_opt_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    whatsapp_opt_in_source: Mapped[str | None] = mapped_column(String(16))
    push: Mapped[bool | None]
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
