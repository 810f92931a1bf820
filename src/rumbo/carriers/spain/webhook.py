"""Rumbo's JSON webhook for Spanish carriers that publish no push format.

SEUR, CTT Express and Correos (Spain) do not push tracking events in a documented format,
so a store (or its integration) relays them to Rumbo in this shape::

    POST /webhooks/carriers/{seur|ctt_express|correos_es}
    X-Rumbo-Signature: sha256=<hex HMAC-SHA256 of the raw body, key = webhook secret>
    {
      "tracking_number": "ES0123456789",
      "events": [
        {
          "code": "LL001",                        # the carrier's own code (string or int)
          "description": "Entregado",             # optional: the carrier's text
          "occurred_at": "2025-03-01T10:15:00+01:00",  # ISO-8601; no offset = Europe/Madrid
          "event_id": "seur-998877",              # optional: the carrier's id, if any
          "location": {"city": "Madrid", "state": "M", "country": "ES",
                       "lat": 40.41, "lon": -3.70}  # optional, every field optional
        }
      ]
    }

Unknown codes are kept as informational events (status ``None``) with their description.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from rumbo.carriers import payload as p
from rumbo.carriers.base import (
    CarrierEvent,
    JsonObject,
    Location,
    PayloadError,
    derived_event_id,
    header,
    signatures_match,
)
from rumbo.events.status import Status

# Peninsular time; Canary Islands events should carry their own offset.
MADRID = ZoneInfo("Europe/Madrid")
SIGNATURE_HEADER = "X-Rumbo-Signature"

CodeTable = Mapping[str, tuple[Status | None, str]]


def sign(body: bytes, secret: str) -> str:
    """The ``X-Rumbo-Signature`` value for ``body`` (for relays and tests)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _code(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{what}: 'code' must be a string or an integer")
    code = str(value).strip().upper()
    if not code or len(code) > 64:
        raise PayloadError(f"{what}: 'code' must be 1-64 characters")
    return code


def _location(raw: JsonObject | None, what: str) -> Location | None:
    if raw is None:
        return None
    return p.location(
        city=p.opt_text(raw, "city", what),
        state=p.opt_text(raw, "state", what),
        country=p.opt_text(raw, "country", what),
        lat=p.opt_number(raw, "lat", what),
        lon=p.opt_number(raw, "lon", what),
    )


class SpanishCarrierWebhook:
    """Adapter for one carrier's events relayed in Rumbo's documented JSON shape."""

    signature_header = SIGNATURE_HEADER

    def __init__(
        self, name: str, table: CodeTable, normalise: Callable[[str], str] = lambda c: c
    ) -> None:
        self._name = name
        self._table = table
        self._normalise = normalise

    @property
    def name(self) -> str:
        return self._name

    def status_for(self, code: str) -> Status | None:
        entry = self._table.get(self._normalise(code.strip().upper()))
        return entry[0] if entry else None

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        what = self._name
        document = p.load_object(body, what)
        number = p.text(document, "tracking_number", what)
        return [self._event(number, item) for item in p.objects(document, "events", what)]

    def _event(self, number: str, item: JsonObject) -> CarrierEvent:
        what = f"{self._name} {number[:40]}"
        code = _code(item.get("code"), what)
        occurred_at = p.timestamp(item.get("occurred_at"), what, naive_zone=MADRID)
        entry = self._table.get(self._normalise(code))
        description = p.opt_text(item, "description", what)
        own_id = item.get("event_id")
        if own_id is not None and (not isinstance(own_id, str | int) or isinstance(own_id, bool)):
            raise PayloadError(f"{what}: 'event_id' must be a string or an integer")
        # The carrier's id when the relay has one; otherwise a hash that replays reproduce.
        event_id = str(own_id).strip() if own_id is not None else ""
        return CarrierEvent(
            carrier=self._name,
            tracking_number=number,
            event_id=event_id or derived_event_id(self._name, number, code, occurred_at),
            status=entry[0] if entry else None,
            occurred_at=occurred_at,
            code=code,
            text=description or (entry[1] if entry else code),
            location=_location(p.opt_obj(item, "location", what), what),
            raw=item,
        )

    def verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        """Check ``X-Rumbo-Signature`` against the body in constant time."""
        received = header(headers, SIGNATURE_HEADER)
        if not received or not secret:
            return False
        return signatures_match(sign(body, secret), received.strip())
