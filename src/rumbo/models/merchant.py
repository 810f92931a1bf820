from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class Merchant(Base):
    """A store: every order, key and setting belongs to exactly one."""

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Branding shown to shoppers on the tracking page and in messages.
    logo_url: Mapped[str | None] = mapped_column(String(2000))
    accent_color: Mapped[str | None] = mapped_column(String(7))
    support_email: Mapped[str | None] = mapped_column(String(320))
    support_phone: Mapped[str | None] = mapped_column(String(40))
    support_url: Mapped[str | None] = mapped_column(String(2000))
