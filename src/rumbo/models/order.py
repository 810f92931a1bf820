from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rumbo.db import Base
from rumbo.models.types import JSONDocument, UTCDateTime


class Order(Base):
    """A purchase, its shopper and destination, and its derived status.

    ``own_status*`` hold the greatest :class:`~rumbo.events.status.StatusKey` among
    events addressed to the order itself; ``status`` is derived from it and from the
    shipments' keys (see ``rumbo.events.status``) and is never written by hand.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("merchant_id", "external_id"),
        Index("ix_orders_merchant_status", "merchant_id", "status", "id"),
        Index("ix_orders_merchant_email", "merchant_id", "customer_email"),
        Index("ix_orders_merchant_risk", "merchant_id", "risk"),
        Index("ix_orders_merchant_placed", "merchant_id", "placed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))

    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    customer_locale: Mapped[str] = mapped_column(String(8))
    customer_postal_code: Mapped[str | None] = mapped_column(String(20))

    # jsonb on PostgreSQL: analytics, stale detection and rescoring read fields of these.
    destination: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Facts a history import knows and the delivery-date model uses (sellers,
    # freight, distance); not part of the API.
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    promised_delivery_date: Mapped[date | None] = mapped_column(Date)

    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Bumped on every change a shopper could see: caches compare it to know they are fresh.
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(32))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipments_total: Mapped[int] = mapped_column(default=0)
    shipments_delivered: Mapped[int] = mapped_column(default=0)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The latest delivery-date prediction for an open order (see rumbo.eta.rescore).
    eta_estimated: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_earliest: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_latest: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_time_probability: Mapped[float | None] = mapped_column(Float)
    risk: Mapped[str | None] = mapped_column(String(16))
    eta_model_version: Mapped[str | None] = mapped_column(String(64))
    eta_scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    own_status: Mapped[str | None] = mapped_column(String(32))
    own_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    own_status_tiebreak: Mapped[str | None] = mapped_column(String(300))
