"""The worker's pass over the couriers' days under way: their live arrival windows are
announced like a plan's, so a shopper hears of a window that moved materially (the
notifications decide what is material; most passes tell no one anything)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.routes.announce import WINDOWS_SET
from rumbo.routes.arrival import live_windows
from rumbo.shared.services import BackgroundService

log = logging.getLogger(__name__)

REFRESH_SECONDS = 300.0


def announce_live_windows(db: Database, now: datetime) -> int:
    """Announce the live windows of every shift under way at ``now``; returns how many
    stops were announced. One transaction: the notices commit with the pass or not at all."""
    with db.session() as session:
        found = live_windows(session.connection(), now)
        for news in found:
            WINDOWS_SET.publish(session, news)
    return sum(len(news.stops) for news in found)


async def run(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """Every few minutes, the live windows of the days under way."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(announce_live_windows, db, datetime.now(UTC))
        except Exception:
            log.exception("announcing live arrival windows failed")
        with contextlib.suppress(TimeoutError):  # the period ended without a stop
            await asyncio.wait_for(stop.wait(), timeout=REFRESH_SECONDS)


SERVICE = BackgroundService("route-windows", run)  # idle without a day under way
