from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base


class NotificationRule(Base):
    """Which channels announce one kind of news for one merchant.

    A merchant without any rule gets the defaults (see ``rumbo.notifications.rules``);
    once it stores rules, a kind without a row notifies no one.
    """

    __tablename__ = "notification_rules"
    __table_args__ = (UniqueConstraint("merchant_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    channels: Mapped[list[str]] = mapped_column(JSON)
