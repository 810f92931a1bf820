from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime


class PushSubscription(Base):
    """One browser's Web Push subscription (RFC 8030 push resource) for one order.

    ``p256dh`` and ``auth`` are the browser's keys (RFC 8291 §2), base64url; a push
    service answering 404 or 410 for ``endpoint`` deletes the row.
    """

    __tablename__ = "push_subscriptions"
    __table_args__ = (UniqueConstraint("order_id", "endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
