"""Dates and times as a shopper of each language reads them (Babel, CLDR patterns)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time

from rumbo.shared.i18n import babel_locale


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local(moment: datetime, timezone: str | None) -> datetime:
    """``moment`` in the destination's time zone (naive datetimes are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    zone = _zone(timezone)
    return aware.astimezone(zone) if zone else aware


def day(value: date, lang: str) -> str:
    """A calendar day, e.g. "23 de novembro de 2026", "November 23, 2026"."""
    return format_date(value, format="long", locale=babel_locale(lang))


def moment_day(value: datetime, lang: str, timezone: str | None) -> str:
    """The local calendar day of an instant."""
    return day(local(value, timezone).date(), lang)


def moment_time(value: datetime, lang: str, timezone: str | None) -> str:
    """The local clock time of an instant, e.g. "14:05" or "2:05 PM"."""
    return format_time(local(value, timezone).time(), format="short", locale=babel_locale(lang))
