"""The adapter interface every carrier integration implements, and the event it produces."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from rumbo.events.status import Status

# A decoded JSON object, kept verbatim beside the normalised event.
JsonObject = dict[str, Any]


class PayloadError(Exception):
    """The body (or one of its parts) is not what the carrier's format promises.

    The only exception a parser raises; an endpoint answers it with 400 and the message.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Location:
    """Where a carrier says an event happened; any part may be unknown."""

    city: str | None = None
    state: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    """One tracking event in Rumbo's vocabulary, with what the carrier actually said.

    ``status`` is ``None`` for informational events (and codes we do not map): they are
    kept and shown with the carrier's own ``text`` but never move the shipment's status.
    ``raw`` is the verbatim piece of the payload the event came from; it takes no part in
    equality, so the same event parsed from two deliveries compares equal.
    """

    carrier: str
    tracking_number: str
    event_id: str
    status: Status | None
    occurred_at: datetime
    code: str
    text: str
    location: Location | None = None
    raw: JsonObject = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        offset = self.occurred_at.utcoffset()
        if offset is None or offset.total_seconds() != 0:
            raise PayloadError("occurred_at must be timezone-aware and in UTC")


def derived_event_id(carrier: str, tracking_number: str, code: str, occurred_at: datetime) -> str:
    """A stable id for carriers that give none, so that a replayed event deduplicates."""
    key = "\x1f".join((carrier, tracking_number, code, occurred_at.astimezone(UTC).isoformat()))
    # surrogatepass: JSON may carry lone surrogates ("\ud800"); hashing must not fail on them.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@runtime_checkable
class CarrierAdapter(Protocol):
    """Turns one pushed (or polled) body into canonical events.

    ``parse`` raises :class:`PayloadError` for malformed input and nothing else. It returns
    an empty list for a well-formed body that carries no tracking event.
    """

    @property
    def name(self) -> str: ...

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]: ...


@runtime_checkable
class SigningCarrierAdapter(CarrierAdapter, Protocol):
    """An adapter for a sender that signs its webhooks."""

    @property
    def signature_header(self) -> str: ...

    def verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool: ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def signatures_match(expected: str, received: str) -> bool:
    """Constant-time comparison of two signatures (timing must not leak the prefix)."""
    return hmac.compare_digest(expected.encode(), received.encode())


def utc(moment: datetime) -> datetime:
    """``moment`` converted to UTC; it must already be aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PayloadError("a naive datetime cannot be converted to UTC")
    return moment.astimezone(UTC)
