"""The OsmAnd protocol as Traccar's decoder accepts it (what Traccar Client sends).

Source: ../shared/data/traccar/SPEC_SUMMARY.md, a summary of traccar/traccar
OsmAndProtocolDecoder.java (Apache-2.0). Two shapes reach the same endpoint:

- query (or, when the query is empty, an ``application/x-www-form-urlencoded`` body):
  ``id|deviceid``, ``lat``/``lon`` or ``location=lat,lon``, ``timestamp`` (unix s, unix ms,
  ISO-8601, or ``yyyy-MM-dd HH:mm:ss``), ``speed`` (knots unless configured), ``bearing|
  heading``, ``altitude``, ``accuracy``, ``batt`` (%); anything else is kept in ``raw``.
- JSON (``Content-Type: application/json``, Transistorsoft background-geolocation):
  ``{"device_id", "location": {"timestamp", "coords": {latitude, longitude, speed m/s,
  heading, accuracy, altitude}, "battery": {"level": 0..1}}}``; ``location`` may be a list.

Differences from Traccar, on purpose: a missing lat/lon is an error (Traccar reuses the
device's last position; a pure parser has none, and a copied old fix would look fresh);
a ``yyyy-MM-dd HH:mm:ss`` time is read as UTC (Traccar uses its server's zone).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs

from rumbo.devices.positions import (
    KNOT_KMH,
    MPS_KMH,
    Position,
    PositionError,
    battery_percent,
    device_id,
    heading_degrees,
    iso_time,
    non_negative,
    number,
    optional_number,
    timestamp,
)

SpeedUnit = Literal["knots", "kmh", "mps", "mph"]
_TO_KMH: dict[str, float] = {"knots": KNOT_KMH, "kmh": 1.0, "mps": MPS_KMH, "mph": 1.609344}
_MAX_FIELDS = 200
_MAX_BYTES = 64 * 1024


def _query_string(target: str) -> str:
    """The query part of a request target ("/?id=1" or "id=1"); a bare path has none."""
    if "?" in target:
        return target.split("?", 1)[1]
    return "" if target.startswith("/") else target


def _params(query: str) -> dict[str, list[str]]:
    query = _query_string(query)
    try:
        return parse_qs(query, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError:
        raise PositionError(f"more than {_MAX_FIELDS} parameters") from None


def parse_osmand_query(
    query: str | bytes, now: datetime, speed_unit: SpeedUnit = "knots"
) -> Position:
    """A position from OsmAnd query or form parameters (``now`` fills a missing time)."""
    if len(query) > _MAX_BYTES:
        raise PositionError("request too large")
    text = query.decode("utf-8", "replace") if isinstance(query, bytes) else query
    params = _params(text)

    def first(*names: str) -> str | None:
        for name in names:
            if params.get(name):
                return params[name][0]
        return None

    device = first("id", "deviceid")
    if device is None:
        raise PositionError("no device id (id or deviceid)")
    lat, lon = first("lat"), first("lon")
    if (lat is None or lon is None) and first("location"):
        parts = (first("location") or "").split(",")
        if len(parts) != 2:
            raise PositionError("location must be lat,lon")
        lat, lon = parts
    if lat is None or lon is None:
        raise PositionError("no coordinates (lat and lon, or location)")
    raw_time = first("timestamp")
    speed = optional_number(first("speed"), "speed")
    return Position(
        device_id=device_id(device),
        lat=number(lat, "lat"),
        lon=number(lon, "lon"),
        recorded_at=now if raw_time is None else timestamp(raw_time),
        speed_kmh=non_negative(speed * _TO_KMH[speed_unit]) if speed is not None else None,
        heading=heading_degrees(optional_number(first("bearing", "heading"), "bearing")),
        altitude=optional_number(first("altitude"), "altitude"),
        accuracy_m=non_negative(optional_number(first("accuracy"), "accuracy")),
        battery=battery_percent(optional_number(first("batt"), "batt")),
        raw={k: v[0] if len(v) == 1 else v for k, v in params.items()},
    )


def _obj(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PositionError(f"{what} must be an object")
    return value


def _json_location(device: str, location: Mapping[str, Any], now: datetime) -> Position:
    coords = _obj(location.get("coords"), "location.coords")
    for key in ("latitude", "longitude"):
        if coords.get(key) is None:
            raise PositionError(f"location.coords has no {key}")
    raw_time = location.get("timestamp")
    if raw_time is not None and not isinstance(raw_time, str):
        raise PositionError("location.timestamp must be an ISO-8601 string")
    speed = optional_number(coords.get("speed"), "speed")
    level = optional_number(_obj(location.get("battery"), "battery").get("level"), "battery")
    return Position(
        device_id=device,
        lat=number(coords["latitude"], "latitude"),
        lon=number(coords["longitude"], "longitude"),
        recorded_at=now if raw_time is None else iso_time(raw_time),
        # m/s; negative means unknown (Traccar ignores it too)
        speed_kmh=speed * MPS_KMH if speed is not None and speed >= 0 else None,
        heading=heading_degrees(optional_number(coords.get("heading"), "heading")),
        altitude=optional_number(coords.get("altitude"), "altitude"),
        accuracy_m=non_negative(optional_number(coords.get("accuracy"), "accuracy")),
        # level is 0..1, -1 when the platform does not know
        battery=battery_percent(level * 100) if level is not None and level >= 0 else None,
        raw=dict(location),
    )


def parse_osmand_json(body: bytes, now: datetime) -> list[Position]:
    """Positions from the JSON body of newer Traccar Clients (one, or a batch)."""
    if len(body) > _MAX_BYTES:
        raise PositionError("request too large")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise PositionError("body is not valid JSON") from None
    if not isinstance(document, dict):
        raise PositionError("body must be a JSON object")
    device = device_id(document.get("device_id"))
    locations = document.get("location")
    if isinstance(locations, dict):
        locations = [locations]
    if not isinstance(locations, list) or not locations:
        raise PositionError("body has no location")
    return [_json_location(device, _obj(item, "location"), now) for item in locations]


def parse_osmand_request(
    query: str,
    body: bytes,
    content_type: str | None,
    now: datetime,
    speed_unit: SpeedUnit = "knots",
) -> list[Position]:
    """Traccar's dispatch: JSON body, else the query, else a form-encoded body.

    ``query`` is the request target ("/?id=1&lat=…") or just its query string.
    """
    if (content_type or "").lower().startswith("application/json"):
        return parse_osmand_json(body, now)
    if _query_string(query):
        # Passed on whole: the query is taken out of the target once, so a "?" inside
        # a value stays part of it.
        return [parse_osmand_query(query, now, speed_unit)]
    return [parse_osmand_query(body, now, speed_unit)]
