"""AfterShip tracking webhooks (``"event": "tracking_update"``).

Sources: AfterShip docs, "Webhook" and "Webhook Signature"
(https://www.aftership.com/docs/tracking/webhook/webhook-signature: header
``aftership-hmac-sha256`` = base64 HMAC-SHA256 of the raw body, key = webhook secret),
"Delivery Statuses" (tags) and "Delivery Sub-statuses" (subtags,
https://www.aftership.com/docs/tracking/enum/delivery-sub-statuses). Example bodies:
../shared/data/payloads/aftership/.

The wire format is snake_case (``checkpoint_time``, ``subtag_message``). A camelCase
body (``checkpointTime``, ``createdAt``) is an SDK's rendering of the same object, not
what AfterShip posts: we reject it with a clear :class:`PayloadError` rather than guess,
because it means a relay re-serialised the body and the signature cannot match anyway.

``checkpoint_time`` is the carrier's local time and often has no UTC offset; AfterShip
does not say which zone. We read such times as UTC (documented approximation: at most a
few hours off, and the same for every replay, so ordering stays deterministic).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from rumbo.carriers import payload as p
from rumbo.carriers.base import (
    CarrierEvent,
    JsonObject,
    PayloadError,
    derived_event_id,
    header,
    signatures_match,
)
from rumbo.events.status import Status

NAME = "aftership"
SIGNATURE_HEADER = "aftership-hmac-sha256"

# Tags ("Delivery Statuses").
AFTERSHIP_TAG: dict[str, Status | None] = {
    "Pending": None,  # added, no information from the carrier yet
    "InfoReceived": Status.PREPARING,
    "InTransit": Status.IN_TRANSIT,
    "OutForDelivery": Status.OUT_FOR_DELIVERY,
    "AttemptFail": Status.DELIVERY_FAILED,
    "Delivered": Status.DELIVERED,
    "AvailableForPickup": Status.AVAILABLE_FOR_PICKUP,
    "Exception": Status.EXCEPTION,
    "Expired": None,  # AfterShip stopped tracking; says nothing new about the parcel
}

# Subtags whose meaning differs from their tag's ("Delivery Sub-statuses"). Every other
# Exception_0xx (customer moved, refused, customs delay, held for payment, wrong address,
# pick-up missed, damaged, lost…) is an exception, as its tag says.
AFTERSHIP_SUBTAG: dict[str, Status] = {
    "Exception_010": Status.EXCEPTION,  # returning to sender: on the way back, not yet back
    "Exception_011": Status.RETURNED,  # returned to sender: received back by the sender
}

_CAMEL_KEYS = ("checkpointTime", "subtagMessage", "createdAt", "updatedAt", "trackingNumber")


def aftership_status(tag: str | None, subtag: str | None) -> Status | None:
    refined = AFTERSHIP_SUBTAG.get(subtag or "")
    return refined if refined is not None else AFTERSHIP_TAG.get(tag or "")


def sign(body: bytes, secret: str) -> str:
    """The ``aftership-hmac-sha256`` value AfterShip sends for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _is_camel_case(msg: JsonObject) -> bool:
    checkpoints = msg.get("checkpoints")
    first = checkpoints[0] if isinstance(checkpoints, list) and checkpoints else {}
    keys = set(msg) | (set(first) if isinstance(first, dict) else set())
    return any(key in keys for key in _CAMEL_KEYS)


def _summary_time(document: JsonObject, msg: JsonObject, what: str) -> datetime:
    for key in ("last_updated_at", "updated_at"):
        if msg.get(key) is not None:
            return p.timestamp(msg.get(key), what)
    ts = p.opt_number(document, "ts", what)
    if ts is None:
        raise PayloadError(f"{what}: no checkpoint and no updated_at or ts")
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"{what}: 'ts' out of range") from exc


def _coordinate(value: object) -> float | None:
    """A finite number, else None: a JSON integer too large for a float must not escape
    as OverflowError (parsers raise PayloadError only)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class AfterShipAdapter:
    """AfterShip ``tracking_update`` webhooks, bodies unchanged (snake_case wire format)."""

    name = NAME
    signature_header = SIGNATURE_HEADER

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        document = p.load_object(body, NAME)
        msg = p.obj(document, "msg", NAME)
        if _is_camel_case(msg):
            raise PayloadError(
                "aftership: camelCase body is an SDK rendering, not AfterShip's webhook format"
            )
        if document.get("event", "tracking_update") != "tracking_update":
            return []
        number = p.text(msg, "tracking_number", NAME)
        what = f"{NAME} {number[:40]}"
        slug = p.opt_text(msg, "slug", what)
        events = [
            self._checkpoint(number, slug, item, what)
            for item in p.objects(msg, "checkpoints", what, required=False)
        ]
        if not events:
            # AfterShip may send a status change with no checkpoint (e.g. Delivered with
            # an empty list): keep it as one event at the tracking's update time.
            tag, subtag = p.opt_text(msg, "tag", what), p.opt_text(msg, "subtag", what)
            if tag is not None:
                occurred_at = _summary_time(document, msg, what)
                code = subtag or tag
                events.append(
                    CarrierEvent(
                        carrier=NAME,
                        tracking_number=number,
                        event_id=derived_event_id(NAME, number, code, occurred_at),
                        status=aftership_status(tag, subtag),
                        occurred_at=occurred_at,
                        code=f"{slug}:{code}" if slug else code,
                        text=p.opt_text(msg, "subtag_message", what) or code,
                        raw={k: v for k, v in msg.items() if k != "checkpoints"},
                    )
                )
        return events

    def _checkpoint(
        self, number: str, slug: str | None, item: JsonObject, what: str
    ) -> CarrierEvent:
        tag, subtag = p.opt_text(item, "tag", what), p.opt_text(item, "subtag", what)
        occurred_at = p.timestamp(item.get("checkpoint_time"), what, naive_zone=UTC)
        code = subtag or tag or "Unknown"
        message = p.opt_text(item, "message", what)
        coordinates = item.get("coordinates")
        lat = lon = None
        if isinstance(coordinates, list) and len(coordinates) == 2:
            lat, lon = (_coordinate(c) for c in coordinates)
        return CarrierEvent(
            carrier=NAME,
            tracking_number=number,
            event_id=derived_event_id(NAME, number, f"{code}|{message}", occurred_at),
            status=aftership_status(tag, subtag),
            occurred_at=occurred_at,
            code=f"{slug or p.opt_text(item, 'slug', what) or ''}:{code}".lstrip(":"),
            text=message or p.opt_text(item, "subtag_message", what) or code,
            location=p.location(
                city=p.opt_text(item, "city", what),
                state=p.opt_text(item, "state", what),
                country=p.opt_text(item, "country_iso3", what),
                lat=lat,
                lon=lon,
            ),
            raw=item,
        )

    def verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        """AfterShip's documented check: base64 HMAC-SHA256 of the raw body."""
        received = header(headers, SIGNATURE_HEADER)
        if not received or not secret:
            return False
        return signatures_match(sign(body, secret), received.strip())
