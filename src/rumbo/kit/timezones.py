"""The time zone a shopper lives in, from the order's destination country and state.

Everything that speaks to a shopper follows their wall clock: times on the tracking
page, SMS quiet hours, "delivered by the promised day". A small table covers
Rumbo's markets (IANA zone names, https://www.iana.org/time-zones); anything else
is UTC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "UTC"

_COUNTRY_ZONE = {
    "BR": "America/Sao_Paulo",
    "ES": "Europe/Madrid",
    "MX": "America/Mexico_City",
    "US": "America/New_York",
    "PT": "Europe/Lisbon",
    "AR": "America/Argentina/Buenos_Aires",
    "CO": "America/Bogota",
    "CL": "America/Santiago",
    "PE": "America/Lima",
    "UY": "America/Montevideo",
}


def _states(zone: str, *names: str) -> dict[str, str]:
    return {name: zone for name in names}


# State or region (ISO 3166-2 subdivision code and common names, normalised) -> zone.
_STATE_ZONE: dict[str, dict[str, str]] = {
    "BR": {
        **_states("America/Sao_Paulo", "SP", "RJ", "MG", "ES", "PR", "SC", "RS", "GO", "DF"),
        **_states("America/Bahia", "BA"),
        **_states("America/Fortaleza", "CE", "RN", "PB", "PI", "MA"),
        **_states("America/Recife", "PE"),
        **_states("America/Maceio", "AL", "SE"),
        **_states("America/Belem", "PA", "AP"),
        **_states("America/Araguaina", "TO"),
        **_states("America/Manaus", "AM"),
        **_states("America/Porto_Velho", "RO"),
        **_states("America/Boa_Vista", "RR"),
        **_states("America/Rio_Branco", "AC"),
        **_states("America/Cuiaba", "MT"),
        **_states("America/Campo_Grande", "MS"),
    },
    "ES": _states(
        "Atlantic/Canary",
        "CN",
        "CANARIAS",
        "ISLAS CANARIAS",
        "CANARY ISLANDS",
        "GC",
        "TF",
        "LAS PALMAS",
        "SANTA CRUZ DE TENERIFE",
    ),
    "MX": {
        **_states("America/Tijuana", "BC", "BCN", "BAJA CALIFORNIA"),
        **_states("America/Mazatlan", "BCS", "BAJA CALIFORNIA SUR", "SIN", "SINALOA", "NAY"),
        **_states("America/Mazatlan", "NAYARIT"),
        **_states("America/Hermosillo", "SON", "SONORA"),
        **_states("America/Chihuahua", "CHH", "CHIH", "CHIHUAHUA"),
        **_states("America/Cancun", "ROO", "QR", "QROO", "QUINTANA ROO"),
    },
    "US": {
        **_states(
            "America/Chicago",
            *[
                "AL",
                "AR",
                "IA",
                "IL",
                "KS",
                "LA",
                "MN",
                "MO",
                "MS",
                "ND",
                "NE",
                "OK",
                "SD",
                "TN",
                "TX",
                "WI",
            ],
        ),
        **_states("America/Denver", *["CO", "MT", "NM", "UT", "WY", "ID"]),
        **_states("America/Phoenix", "AZ"),
        **_states("America/Los_Angeles", *["CA", "NV", "OR", "WA"]),
        **_states("America/Anchorage", "AK"),
        **_states("Pacific/Honolulu", "HI"),
    },
    "PT": {
        **_states("Atlantic/Azores", "20", "ACORES", "AZORES", "REGIAO AUTONOMA DOS ACORES"),
        **_states("Atlantic/Madeira", "30", "MADEIRA", "REGIAO AUTONOMA DA MADEIRA"),
    },
    "CL": _states("America/Punta_Arenas", "MA", "MAG", "12", "MAGALLANES"),
}


def _key(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value.strip().upper())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


@lru_cache(maxsize=512)
def zone_name_for(country: str | None, state: str | None = None) -> str:
    """The IANA zone of a destination (``"BR", "AM"`` -> ``America/Manaus``); UTC if unknown."""
    if not country:
        return DEFAULT_ZONE
    country = country.strip().upper()
    if state:
        key = _key(state)
        # "BR-AM", "MX-ROO": ISO 3166-2 codes with their country prefix.
        key = key.removeprefix(f"{country}-")
        zone = _STATE_ZONE.get(country, {}).get(key)
        if zone:
            return zone
    return _COUNTRY_ZONE.get(country, DEFAULT_ZONE)


def zone_for(country: str | None, state: str | None = None) -> ZoneInfo:
    try:
        return ZoneInfo(zone_name_for(country, state))
    except ZoneInfoNotFoundError:  # a system without tzdata: UTC rather than a crash
        return ZoneInfo(DEFAULT_ZONE)


def zone_name_of(destination: Mapping[str, Any] | None) -> str:
    """The IANA zone of a stored destination (``{"country": …, "state": …}``)."""
    if not destination:
        return DEFAULT_ZONE
    return zone_name_for(destination.get("country"), destination.get("state"))
