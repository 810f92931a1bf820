"""EasyPost tracker webhooks: an ``Event`` whose ``result`` is a ``Tracker``.

Sources: EasyPost API docs, "Trackers" (https://docs.easypost.com/docs/trackers: statuses
unknown, pre_transit, in_transit, out_for_delivery, delivered, available_for_pickup,
return_to_sender, failure, cancelled, error, and ``status_detail`` values) and "Webhooks"
(https://docs.easypost.com/docs/webhooks: ``X-Hmac-Signature`` header, value
``hmac-sha256-hex=<hex>``, HMAC-SHA256 of the raw body keyed with the webhook secret
NFKD-normalised, as the client libraries' ``validate_webhook`` do). Example bodies:
../shared/data/payloads/easypost/ (MIT).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping

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

NAME = "easypost"
SIGNATURE_HEADER = "X-Hmac-Signature"
_SIGNATURE_PREFIX = "hmac-sha256-hex="

# Tracker / TrackingDetail ``status`` (EasyPost "Trackers" docs).
EASYPOST_STATUS: dict[str, Status | None] = {
    "unknown": None,
    "pre_transit": Status.PREPARING,  # label created / info sent, parcel not yet scanned
    "in_transit": Status.IN_TRANSIT,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "delivered": Status.DELIVERED,
    "available_for_pickup": Status.AVAILABLE_FOR_PICKUP,
    # "return_to_sender" is the return leg; ``status_detail`` "return" can't tell
    # started from finished either, so it stays an exception (see the detail table).
    "return_to_sender": Status.EXCEPTION,
    "failure": Status.EXCEPTION,
    "cancelled": Status.CANCELLED,
    "error": None,  # the carrier could not be queried: says nothing about the parcel
}

# ``status_detail`` values that refine the status (EasyPost "Trackers" docs, status_detail).
EASYPOST_STATUS_DETAIL: dict[str, Status] = {
    "arrived_at_pickup_location": Status.AVAILABLE_FOR_PICKUP,
    "delivery_exception": Status.DELIVERY_FAILED,
    "address_correction": Status.EXCEPTION,
    "damaged": Status.EXCEPTION,
    "lost": Status.EXCEPTION,
    "held": Status.EXCEPTION,
    "refused": Status.EXCEPTION,
    "weather_delay": Status.EXCEPTION,
    "delayed": Status.EXCEPTION,
    "transit_exception": Status.EXCEPTION,
    "missorted": Status.EXCEPTION,
    "label_created": Status.PREPARING,
    "received_at_origin_facility": Status.SHIPPED,
}


def easypost_status(status: str | None, detail: str | None) -> Status | None:
    """Canonical status of an EasyPost (status, status_detail) pair."""
    base = EASYPOST_STATUS.get(status or "")
    refined = EASYPOST_STATUS_DETAIL.get(detail or "")
    # A detail never overrides a terminal or "unknown" status; it only sharpens the others.
    if refined is None or base in (None, Status.DELIVERED, Status.CANCELLED):
        return base
    return refined


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hmac-Signature`` value EasyPost sends for ``body``."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return _SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def _tracker(document: JsonObject) -> JsonObject | None:
    """The Tracker in an Event (``None`` for events about other objects or without one)."""
    if document.get("object") == "Tracker":
        return document  # a bare Tracker, as GET /trackers/{id} returns it
    if document.get("object") != "Event":
        raise PayloadError("easypost: body is neither an Event nor a Tracker")
    result = p.opt_obj(document, "result", NAME)
    if result is None or result.get("object") != "Tracker":
        return None
    return result


class EasyPostAdapter:
    """EasyPost ``tracker.created`` / ``tracker.updated`` events, bodies unchanged."""

    name = NAME
    signature_header = SIGNATURE_HEADER

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        tracker = _tracker(p.load_object(body, NAME))
        if tracker is None:
            return []
        number = p.text(tracker, "tracking_code", NAME)
        what = f"{NAME} {number[:40]}"
        carrier = p.opt_text(tracker, "carrier", what)
        events = []
        for detail in p.objects(tracker, "tracking_details", what, required=False):
            status = p.opt_text(detail, "status", what)
            status_detail = p.opt_text(detail, "status_detail", what)
            occurred_at = p.timestamp(detail.get("datetime"), what)
            carrier_code = p.opt_text(detail, "carrier_code", what)
            code = carrier_code or status or "unknown"
            loc = p.opt_obj(detail, "tracking_location", what) or {}
            message = p.opt_text(detail, "message", what) or p.opt_text(detail, "description", what)
            events.append(
                CarrierEvent(
                    carrier=NAME,
                    tracking_number=number,
                    # TrackingDetails carry no id; include the code and message so two
                    # scans in the same minute stay apart.
                    event_id=derived_event_id(
                        NAME, number, f"{code}|{status}|{message}", occurred_at
                    ),
                    status=easypost_status(status, status_detail),
                    occurred_at=occurred_at,
                    code=f"{carrier or ''}:{code}".lstrip(":"),
                    text=message or status or code,
                    location=p.location(
                        city=p.opt_text(loc, "city", what),
                        state=p.opt_text(loc, "state", what),
                        country=p.opt_text(loc, "country", what),
                    ),
                    raw=detail,
                )
            )
        return events

    def verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        """EasyPost's documented check: HMAC-SHA256 of the raw body, NFKD secret."""
        received = header(headers, SIGNATURE_HEADER)
        if not received or not secret:
            return False
        return signatures_match(sign(body, secret), received.strip())
