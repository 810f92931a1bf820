"""Shippo ``track_updated`` webhooks: ``{"event": "track_updated", "test": bool, "data": Track}``.

Sources: Shippo docs, "Tracking" / "Webhooks" (https://docs.goshippo.com/docs/tracking/
tracking/ and https://docs.goshippo.com/docs/tracking/webhooks/): Track objects carry
``tracking_status`` and ``tracking_history[]`` with ``status`` in PRE_TRANSIT, TRANSIT,
DELIVERED, RETURNED, FAILURE, UNKNOWN, an optional ``substatus.code`` and ``object_id``.
Example Track objects: ../shared/data/payloads/shippo/ (MIT). Shippo's webhooks are not
HMAC-signed; protect the endpoint with a secret token in its URL.
"""

from __future__ import annotations

from collections.abc import Mapping

from rumbo.carriers import payload as p
from rumbo.carriers.base import CarrierEvent, JsonObject, PayloadError, derived_event_id
from rumbo.events.status import Status

NAME = "shippo"

SHIPPO_STATUS: dict[str, Status | None] = {
    "UNKNOWN": None,  # e.g. "electronic shipment information received": no parcel yet
    "PRE_TRANSIT": Status.PREPARING,
    "TRANSIT": Status.IN_TRANSIT,
    "DELIVERED": Status.DELIVERED,
    "RETURNED": Status.RETURNED,
    "FAILURE": Status.EXCEPTION,
}

# ``substatus.code`` values that sharpen the status (Shippo "Tracking Status" substatus list).
SHIPPO_SUBSTATUS: dict[str, Status] = {
    "package_accepted": Status.SHIPPED,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "pickup_available": Status.AVAILABLE_FOR_PICKUP,
    "delivery_attempted": Status.DELIVERY_FAILED,
    "notice_left": Status.DELIVERY_FAILED,
    "address_issue": Status.EXCEPTION,
    "contact_carrier": Status.EXCEPTION,
    "delayed": Status.EXCEPTION,
    "location_inaccessible": Status.EXCEPTION,
    "package_damaged": Status.EXCEPTION,
    "package_held": Status.EXCEPTION,
    "package_lost": Status.EXCEPTION,
    "package_undeliverable": Status.EXCEPTION,
    "package_unclaimed": Status.EXCEPTION,
    "package_disposed": Status.EXCEPTION,
    # On the way back is not yet back: "returned" needs the RETURNED status itself.
    "return_to_sender": Status.EXCEPTION,
}


def shippo_status(status: str | None, substatus: str | None) -> Status | None:
    base = SHIPPO_STATUS.get(status or "")
    refined = SHIPPO_SUBSTATUS.get(substatus or "")
    if refined is None or base in (None, Status.DELIVERED):
        return base
    if base is Status.RETURNED and refined is not Status.EXCEPTION:
        return base
    return refined


def _track(document: JsonObject) -> JsonObject | None:
    if "event" in document:
        if document.get("event") != "track_updated":
            return None  # another webhook type (transaction_created…): nothing to track
        return p.obj(document, "data", NAME)
    if "tracking_number" in document:
        return document  # a bare Track, as GET /tracks/{carrier}/{number} returns it
    raise PayloadError("shippo: body is neither a track_updated webhook nor a Track")


def _event(number: str, carrier: str | None, item: JsonObject) -> CarrierEvent:
    what = f"{NAME} {number[:40]}"
    status = p.opt_text(item, "status", what)
    substatus_obj = p.opt_obj(item, "substatus", what)
    substatus = p.opt_text(substatus_obj, "code", what) if substatus_obj else None
    occurred_at = p.timestamp(item.get("status_date"), what)
    code = f"{status or 'UNKNOWN'}/{substatus}" if substatus else status or "UNKNOWN"
    object_id = p.opt_text(item, "object_id", what)
    loc = p.opt_obj(item, "location", what) or {}
    return CarrierEvent(
        carrier=NAME,
        tracking_number=number,
        event_id=object_id or derived_event_id(NAME, number, code, occurred_at),
        status=shippo_status(status, substatus),
        occurred_at=occurred_at,
        code=f"{carrier}:{code}" if carrier else code,
        text=p.opt_text(item, "status_details", what) or code,
        location=p.location(
            city=p.opt_text(loc, "city", what),
            state=p.opt_text(loc, "state", what),
            country=p.opt_text(loc, "country", what),
        ),
        raw=item,
    )


class ShippoAdapter:
    """Shippo tracking webhooks (and bare Track objects), bodies unchanged."""

    name = NAME

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        track = _track(p.load_object(body, NAME))
        if track is None:
            return []
        number = p.text(track, "tracking_number", NAME)
        carrier = p.opt_text(track, "carrier", NAME)
        items = p.objects(track, "tracking_history", NAME, required=False)
        current = p.opt_obj(track, "tracking_status", NAME)
        seen = {(item.get("status"), item.get("status_date")) for item in items}
        if current is not None and (current.get("status"), current.get("status_date")) not in seen:
            # The current status may be newer than the history; Shippo gives it its own
            # object_id even when it repeats the last history entry, hence the check.
            items = [*items, current]
        events: dict[str, CarrierEvent] = {}
        for item in items:
            event = _event(number, carrier, item)
            events.setdefault(event.event_id, event)
        return list(events.values())
