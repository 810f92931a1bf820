"""Promises are calendar days, read on the shopper's clock.

A history's timestamps are naive wall-clock times of the store's platform (Olist:
Brazil's, whatever the destination — :func:`history_zone`). A shopper reads a promise
as a *day* in their own time zone (:func:`rumbo.kit.timezones.zone_for`): a parcel is
late when it arrives after that day has ended there. The same rule applies to the
store's promise and to ours, so the two are compared as a shopper would.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rumbo.kit.timezones import zone_for

_CLOCKS = {"BR": ZoneInfo("America/Sao_Paulo")}
UTC_ZONE = ZoneInfo("UTC")


def history_zone(country: str | None) -> ZoneInfo:
    """The clock a store's history was written in (Olist: Brazil's platform time,
    whatever the destination); UTC where we know no better."""
    return _CLOCKS.get(country or "", UTC_ZONE)


def shopper_zone(country: str | None, state: str | None) -> ZoneInfo:
    """The destination's time zone: where the promised day is read."""
    return zone_for(country, state)


def shopper_day(moment: datetime, clock: ZoneInfo, shopper: ZoneInfo) -> date:
    """The shopper's calendar day of a naive ``clock`` time."""
    if clock is shopper:
        return moment.date()
    return moment.replace(tzinfo=clock).astimezone(shopper).date()


def day_start(day: date, clock: ZoneInfo, shopper: ZoneInfo) -> datetime:
    """The naive ``clock`` time at which ``day`` begins for the shopper."""
    start = datetime.combine(day, datetime.min.time())
    if clock is shopper:
        return start
    return start.replace(tzinfo=shopper).astimezone(clock).replace(tzinfo=None)


def day_end(day: date, clock: ZoneInfo, shopper: ZoneInfo) -> datetime:
    """The naive ``clock`` time of the last second of ``day`` for the shopper."""
    return day_start(day + timedelta(days=1), clock, shopper) - timedelta(seconds=1)
