"""What one notification carries: everything a channel needs, and nothing it must look up.

The caller (the outbox worker) fills a :class:`Message` from the database; the
channels only render and deliver it, so they stay free of queries and sessions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rumbo.events.status import RANK, TIER, Status
from rumbo.shared.i18n import LANGUAGES, normalize_language


class Kind(StrEnum):
    """What a notification is about: a status the order reached, or proactive news."""

    PAYMENT_CONFIRMED = "payment_confirmed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    EXCEPTION = "exception"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    # Not statuses: the ETA model predicts the promise will be broken; the courier
    # is a few stops away; the day's route gives the parcel an arrival window (which
    # replaces "arriving soon" for parcels on a planned route).
    MAY_BE_DELAYED = "may_be_delayed"
    ARRIVING_SOON = "arriving_soon"
    ARRIVAL_WINDOW = "arrival_window"

    @classmethod
    def for_status(cls, status: Status) -> Kind | None:
        """The kind that announces ``status``; ``None`` for statuses that never notify."""
        try:
            return cls(status.value)
        except ValueError:
            return None

    @property
    def status(self) -> Status | None:
        """The status this kind announces; ``None`` for the proactive kinds."""
        try:
            return Status(self.value)
        except ValueError:
            return None

    @property
    def precedence(self) -> tuple[int, int]:
        """How far along the journey the news is; the greatest wins when news is merged.

        Statuses keep the tier and rank of :mod:`rumbo.events.status`, so merging
        agrees with status derivation. "May be delayed" sits after ``exception``
        (it says the order is late but still moving), "arriving soon" and the arrival
        window just after ``out_for_delivery``: each is outdated once the parcel is
        delivered, and each says more than "out for delivery" when they meet in a burst.
        """
        status = self.status
        if status is not None:
            return (TIER.get(status, 0), RANK[status])
        if self is Kind.MAY_BE_DELAYED:
            return (0, RANK[Status.EXCEPTION] + 1)
        return (0, RANK[Status.OUT_FOR_DELIVERY] + 1)


_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def is_e164(phone: str) -> bool:
    """``+`` then 2–15 digits, the first not zero (ITU-T E.164, as Twilio expects ``To``)."""
    return _E164.fullmatch(phone) is not None


@dataclass(frozen=True, slots=True)
class Branding:
    """The store as the shopper knows it; every field but the name is optional."""

    name: str
    logo_url: str | None = None
    # Goes into inline CSS, so only ``#rrggbb`` is accepted (no CSS injection).
    accent_colour: str | None = None
    support_email: str | None = None
    support_phone: str | None = None
    support_url: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a merchant name is required")
        if self.accent_colour is not None and not _HEX_COLOUR.fullmatch(self.accent_colour):
            raise ValueError(f"accent colour must be #rrggbb, got {self.accent_colour!r}")


@dataclass(frozen=True, slots=True)
class Message:
    """One notification about one order, ready to render in any channel.

    ``idempotency_key`` is made by the caller, stable across retries of the same
    notification (e.g. the outbox row id): it becomes the e-mail ``Message-ID``
    and the webhook ``webhook-id`` so a re-send is recognisable downstream.
    """

    kind: Kind
    language: str
    idempotency_key: str
    tracking_code: str
    tracking_url: str
    status: Status
    status_at: datetime
    merchant: Branding
    time_zone: str
    preferences_url: str
    unsubscribe_url: str
    customer_first_name: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    promised_date: date | None = None
    predicted_earliest: date | None = None
    predicted_latest: date | None = None
    carrier: str | None = None
    carrier_tracking_number: str | None = None
    # The arrival window of the courier's day (the ``arrival_window`` kind), timezone-aware.
    window_start: datetime | None = None
    window_end: datetime | None = None

    def __post_init__(self) -> None:
        language = normalize_language(self.language)
        if language is None:
            raise ValueError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        object.__setattr__(self, "language", language)
        if self.status_at.tzinfo is None:
            raise ValueError("status_at must be timezone-aware")
        try:  # fail when built, not when sent
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc
        if not self.idempotency_key:
            raise ValueError("an idempotency key is required")
        if (self.predicted_earliest is None) != (self.predicted_latest is None):
            raise ValueError("a predicted range needs both ends")
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("an arrival window needs both ends")
        if self.kind is Kind.ARRIVAL_WINDOW and self.window_start is None:
            raise ValueError("an arrival-window notice needs its window")
        if self.window_start is not None and self.window_end is not None:
            if self.window_start.tzinfo is None or self.window_end.tzinfo is None:
                raise ValueError("an arrival window must be timezone-aware")
            if self.window_end < self.window_start:
                raise ValueError("an arrival window cannot end before it starts")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
