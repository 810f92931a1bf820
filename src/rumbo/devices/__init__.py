"""Courier devices: position parsing (OsmAnd HTTP, MQTT JSON) and track plausibility rules."""

from rumbo.devices.osmand import parse_osmand_json, parse_osmand_query, parse_osmand_request
from rumbo.devices.positions import (
    Position,
    PositionError,
    Verdict,
    accept_fix,
    haversine_m,
    parse_mqtt_position,
    public_position,
)

__all__ = [
    "Position",
    "PositionError",
    "Verdict",
    "accept_fix",
    "haversine_m",
    "parse_mqtt_position",
    "parse_osmand_json",
    "parse_osmand_query",
    "parse_osmand_request",
    "public_position",
]
