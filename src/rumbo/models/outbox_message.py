from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import UTCDateTime

_DUE = text("status IN ('queued', 'sending')")
_REFERENCED = text("reference IS NOT NULL")


class OutboxMessage(Base):
    """One notification a rule triggered, written in the transaction of the events behind it.

    ``idempotency_key`` (merchant, order, kind, channel [, endpoint] [, promise]) is
    unique: the same news reached twice, from two sources or after being undone,
    inserts nothing the second time. ``status`` moves queued → sending → sent |
    failed, or straight to suppressed with a ``suppressed_reason``; a ``sending``
    row whose lease (``locked_until``) ran out is claimed again.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # What the worker claims; sent and suppressed messages leave the index.
        Index(
            "ix_outbox_messages_due",
            "status",
            "next_attempt_at",
            postgresql_where=_DUE,
            sqlite_where=_DUE,
        ),
        Index("ix_outbox_messages_order", "order_id", "id"),
        # Provider status callbacks name the message by the provider's id; most rows
        # never have one, and a partial index spares them an entry.
        Index(
            "ix_outbox_messages_reference",
            "reference",
            postgresql_where=_REFERENCED,
            sqlite_where=_REFERENCED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    suppressed_reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000))
    reference: Mapped[str | None] = mapped_column(String(200))
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the provider reported afterwards (WhatsApp status webhooks), where it does.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
