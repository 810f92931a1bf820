from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class WebhookEndpoint(Base):
    """A store URL that receives signed events (Standard Webhooks).

    ``event_types`` empty means every type. ``failing_since`` is the first failure
    after the last success; an endpoint failing for too long, or answering 410, is
    disabled with ``disabled_reason`` until the merchant re-enables it.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool]
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
