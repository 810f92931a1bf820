"""Reading untrusted JSON: typed accessors that fail with :class:`PayloadError` only.

Webhook bodies come from the internet; every shape assumption is checked here so that a
parser never lets a ``KeyError``, ``TypeError`` or ``ValueError`` escape.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, tzinfo
from typing import Any

from rumbo.carriers.base import JsonObject, Location, PayloadError


def load_object(body: bytes, what: str) -> JsonObject:
    """Decode ``body`` as a JSON object."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PayloadError(f"{what}: body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise PayloadError(f"{what}: body must be a JSON object")
    return value


def obj(container: JsonObject, key: str, what: str) -> JsonObject:
    value = container.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{what}: '{key}' must be an object")
    return value


def opt_obj(container: JsonObject, key: str, what: str) -> JsonObject | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError(f"{what}: '{key}' must be an object or null")
    return value


def objects(
    container: JsonObject, key: str, what: str, *, required: bool = True
) -> list[JsonObject]:
    """A list of objects under ``key`` (missing or null is an empty list when not required)."""
    value = container.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PayloadError(f"{what}: '{key}' must be a list of objects")
    return value


def text(container: JsonObject, key: str, what: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{what}: '{key}' must be a non-empty string")
    return value.strip()


def opt_text(container: JsonObject, key: str, what: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what}: '{key}' must be a string or null")
    return value.strip() or None


def opt_number(container: JsonObject, key: str, what: str) -> float | None:
    value: Any = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{what}: '{key}' must be a number or null")
    number = float(value)
    if not math.isfinite(number):
        raise PayloadError(f"{what}: '{key}' must be finite")
    return number


def timestamp(value: object, what: str, *, naive_zone: tzinfo | None = None) -> datetime:
    """Parse an ISO-8601 timestamp into UTC.

    A timestamp without offset is read in ``naive_zone`` when given, else rejected:
    guessing a zone silently would shift events by hours.
    """
    if not isinstance(value, str):
        raise PayloadError(f"{what}: timestamp must be an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise PayloadError(f"{what}: '{value[:40]}' is not an ISO-8601 timestamp") from exc
    if moment.tzinfo is None:
        if naive_zone is None:
            raise PayloadError(f"{what}: timestamp '{value[:40]}' has no UTC offset")
        moment = moment.replace(tzinfo=naive_zone)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise PayloadError(f"{what}: timestamp out of range") from exc


def location(
    city: str | None = None,
    state: str | None = None,
    country: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Location | None:
    """A :class:`Location`, or ``None`` when every part is unknown."""
    if lat is not None and not -90 <= lat <= 90:
        lat = None
    if lon is not None and not -180 <= lon <= 180:
        lon = None
    if lat is None or lon is None:
        lat = lon = None
    if city is None and state is None and country is None and lat is None:
        return None
    return Location(city=city, state=state, country=country, lat=lat, lon=lon)
