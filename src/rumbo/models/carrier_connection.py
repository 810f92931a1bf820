from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class CarrierConnection(Base):
    """A merchant's webhook endpoint for one carrier or aggregator.

    The URL token is random and stored only as its SHA-256 (like API keys): the URL is
    shown once, when the connection is created or rotated. ``signing_secret`` is the
    secret the aggregator issued and the merchant pasted in; it must stay readable to
    verify signatures, so it cannot be hashed.
    """

    __tablename__ = "carrier_connections"
    __table_args__ = (UniqueConstraint("merchant_id", "carrier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    carrier: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signing_secret: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
