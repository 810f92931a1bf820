"""The date range of a figures request: ``[from, to)``, with the same defaults and
limits wherever figures are asked for (API, console)."""

from __future__ import annotations

from datetime import date, timedelta

from rumbo.errors import RumboError

DEFAULT_DAYS = 91
MAX_DAYS = 3 * 366


def date_range(
    start: date | None,
    end: date | None,
    today: date,
    *,
    default_days: int = DEFAULT_DAYS,
    max_days: int = MAX_DAYS,
) -> tuple[date, date]:
    """``(start, end)``, end exclusive: ``end`` defaults to tomorrow and ``start`` to
    ``default_days`` before ``end``; a backwards, empty or too long range is a 422."""
    end = end or today + timedelta(days=1)
    if start is None:
        if end.toordinal() <= default_days:
            raise RumboError("'to' is before any purchase.", 422, "validation_error")
        start = end - timedelta(days=default_days)
    if start >= end:
        raise RumboError("'from' must be before 'to'.", 422, "validation_error")
    if (end - start).days > max_days:
        raise RumboError(
            f"A range covers at most {max_days} days.",
            422,
            "validation_error",
            {"max_days": max_days},
        )
    return start, end
