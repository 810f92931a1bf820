"""Courier positions: one type for every source, MQTT parsing, and plausibility rules.

Devices go offline, re-upload old fixes in bursts, have clocks that drift, and GPS
sometimes jumps kilometres. The track keeps what is believable; the "latest position"
shown to a shopper only ever moves forward in time and never to an implausible place.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
KNOT_KMH = 1.852
MPS_KMH = 3.6
_EPOCH_SECONDS_LIMIT = 2**31 - 1  # Traccar: below this a timestamp is seconds, else ms
# No real fix is older than this: 0, a negative number or a 1970 date is a client that has
# no time (the same lower bound as events' occurred_at).
EARLIEST_FIX = datetime(1990, 1, 1, tzinfo=UTC)
_MAX_DEVICE_ID = 128
_DEVICE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class PositionError(Exception):
    """A position payload that cannot be used; the only exception the parsers raise."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Position:
    """One fix from a courier device, normalised (UTC, km/h, metres, battery %)."""

    device_id: str
    lat: float
    lon: float
    recorded_at: datetime
    speed_kmh: float | None = None
    heading: float | None = None
    altitude: float | None = None
    accuracy_m: float | None = None
    battery: float | None = None  # percent, 0-100
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.device_id or len(self.device_id) > _MAX_DEVICE_ID:
            raise PositionError("device id must be 1-128 characters")
        if not (math.isfinite(self.lat) and -90 <= self.lat <= 90):
            raise PositionError("latitude must be within -90..90")
        if not (math.isfinite(self.lon) and -180 <= self.lon <= 180):
            raise PositionError("longitude must be within -180..180")
        if self.recorded_at.utcoffset() != timedelta(0):
            raise PositionError("recorded_at must be timezone-aware UTC")


# --- small pieces shared by the parsers -------------------------------------------------


def number(value: object, what: str) -> float:
    """A finite float from a JSON number or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PositionError(f"{what} must be a number")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise PositionError(f"{what} must be a number") from None
    if not math.isfinite(result):
        raise PositionError(f"{what} must be finite")
    return result


def optional_number(value: object, what: str) -> float | None:
    if value is None or value == "":
        return None
    return number(value, what)


def epoch(value: float, what: str = "timestamp") -> datetime:
    """Unix seconds or milliseconds (Traccar's rule: below 2^31-1 means seconds)."""
    seconds = value if abs(value) < _EPOCH_SECONDS_LIMIT else value / 1000
    try:
        return _plausible(datetime.fromtimestamp(seconds, UTC), what)
    except (OverflowError, OSError, ValueError):
        raise PositionError(f"{what} out of range") from None


def _plausible(moment: datetime, what: str) -> datetime:
    if moment < EARLIEST_FIX:
        raise PositionError(
            f"{what} {moment.isoformat()} is before {EARLIEST_FIX.year}: the device has no"
            " real time for this fix"
        )
    return moment


def iso_time(value: str, what: str = "timestamp") -> datetime:
    """ISO-8601 (or ``yyyy-MM-dd HH:mm:ss``); a time without offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PositionError(f"{what} '{value[:40]}' is not a date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise PositionError(f"{what} out of range") from None
    return _plausible(moment, what)


def timestamp(value: object, what: str = "timestamp") -> datetime:
    """A timestamp as unix seconds, unix ms (number or digits) or an ISO-8601 string."""
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return epoch(number(value, what), what)
    if isinstance(value, str):
        return iso_time(value, what)
    return epoch(number(value, what), what)


def device_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _DEVICE_ID.fullmatch(value.strip()):
        raise PositionError("device id must be 1-128 letters, digits or _.:-")
    return value.strip()


def heading_degrees(value: float | None) -> float | None:
    """A course in 0..360, or ``None`` for the "unknown" negatives clients send."""
    if value is None or value < 0:
        return None
    return value % 360


def non_negative(value: float | None) -> float | None:
    return value if value is not None and value >= 0 else None


# --- MQTT -----------------------------------------------------------------------------

_TOPIC = re.compile(r"rumbo/devices/([^/+#]+)/position")


def parse_mqtt_position(topic: str, payload: bytes) -> Position:
    """A fix published on ``rumbo/devices/{device_id}/position``.

    Payload (Rumbo's own format): ``{"lat": -23.55, "lon": -46.63, "timestamp": <unix s |
    unix ms | ISO-8601>, "speed": km/h, "heading": deg, "accuracy": m, "battery": %}``;
    lat, lon and timestamp are required. The device id comes from the topic, never the
    payload, so a broker ACL on the topic is what authenticates it.
    """
    match = _TOPIC.fullmatch(topic)
    if match is None:
        raise PositionError("topic must be rumbo/devices/{device_id}/position")
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        raise PositionError("payload is not valid JSON") from None
    if not isinstance(document, dict):
        raise PositionError("payload must be a JSON object")
    for key in ("lat", "lon", "timestamp"):
        if document.get(key) is None:
            raise PositionError(f"payload has no {key}")
    return Position(
        device_id=device_id(match.group(1)),
        lat=number(document["lat"], "lat"),
        lon=number(document["lon"], "lon"),
        recorded_at=timestamp(document["timestamp"]),
        speed_kmh=non_negative(optional_number(document.get("speed"), "speed")),
        heading=heading_degrees(optional_number(document.get("heading"), "heading")),
        accuracy_m=non_negative(optional_number(document.get("accuracy"), "accuracy")),
        battery=battery_percent(optional_number(document.get("battery"), "battery")),
        altitude=optional_number(document.get("altitude"), "altitude"),
        raw=document,
    )


def battery_percent(value: float | None) -> float | None:
    return value if value is not None and 0 <= value <= 100 else None


# --- geometry -------------------------------------------------------------------------


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def public_position(position: Position, decimals: int = 3) -> Position:
    """The position as a shopper may see it: coordinates rounded (3 decimals ≈ 110 m of
    latitude), no raw payload, no battery, altitude or accuracy (device details)."""
    return replace(
        position,
        lat=round(position.lat, decimals),
        lon=round(position.lon, decimals),
        altitude=None,
        accuracy_m=None,
        battery=None,
        raw={},
    )


# --- plausibility ---------------------------------------------------------------------

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_SPEED_KMH = 250.0
MAX_ACCURACY_M = 1_000.0


class Reason(StrEnum):
    ACCEPTED = "accepted"
    FIRST_FIX = "first_fix"
    IN_FUTURE = "in_future"  # rejected outright
    OUT_OF_ORDER = "out_of_order"  # stored in the track, not latest
    INACCURATE = "inaccurate"  # stored, not latest
    IMPLAUSIBLE_JUMP = "implausible_jump"  # stored (flagged), not latest
    NULL_ISLAND = "null_island"  # 0,0: a client with no fix; rejected


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a new fix: keep it in the track? make it the latest position?"""

    store: bool
    becomes_latest: bool
    reason: Reason
    implied_speed_kmh: float | None = None


def accept_fix(previous_latest: Position | None, new: Position, now: datetime) -> Verdict:
    """Decide whether ``new`` is stored and whether it replaces ``previous_latest``.

    - Dated more than 5 minutes after ``now``: **rejected**, not clamped — clamping would
      invent a time, and a device whose clock runs ahead would then overwrite real fixes.
    - Exactly 0,0: rejected (clients send it when they have no fix).
    - Not newer than the latest: stored (an offline device catching up fills the track)
      but never becomes the latest.
    - Accuracy radius over 1 km, or a jump implying more than 250 km/h from the latest:
      stored and flagged, not the latest. A wrong latest cannot pin the track forever:
      the implied speed to a true position falls as time passes.
    """
    if new.recorded_at > now + FUTURE_TOLERANCE:
        return Verdict(False, False, Reason.IN_FUTURE)
    if new.lat == 0 and new.lon == 0:
        return Verdict(False, False, Reason.NULL_ISLAND)
    if previous_latest is not None and new.recorded_at <= previous_latest.recorded_at:
        return Verdict(True, False, Reason.OUT_OF_ORDER)
    if new.accuracy_m is not None and new.accuracy_m > MAX_ACCURACY_M:
        return Verdict(True, False, Reason.INACCURATE)
    if previous_latest is None:
        return Verdict(True, True, Reason.FIRST_FIX)
    hours = (new.recorded_at - previous_latest.recorded_at).total_seconds() / 3600
    metres = haversine_m(previous_latest.lat, previous_latest.lon, new.lat, new.lon)
    speed = metres / 1000 / hours
    if speed > MAX_SPEED_KMH:
        return Verdict(True, False, Reason.IMPLAUSIBLE_JUMP, speed)
    return Verdict(True, True, Reason.ACCEPTED, speed)
