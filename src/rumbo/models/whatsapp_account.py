from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class WhatsAppAccount(Base):
    """A merchant's WhatsApp Business Platform (Cloud API) sender.

    ``templates`` maps kind → language → approved template name; ``paused_templates``
    maps a template name to why it stopped being used (Meta paused, disabled or
    reclassified it) until the merchant puts the settings again.
    """

    __tablename__ = "whatsapp_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id", ondelete="CASCADE"), unique=True
    )
    phone_number_id: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str] = mapped_column(String(1000))
    app_secret: Mapped[str] = mapped_column(String(200))
    verify_token: Mapped[str] = mapped_column(String(200))
    api_version: Mapped[str] = mapped_column(String(16))
    templates: Mapped[dict[str, Any]] = mapped_column(JSON)
    paused_templates: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
