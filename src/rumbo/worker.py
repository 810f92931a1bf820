"""``rumbo worker``: the background services, run side by side until stopped.

Each domain that has background work exposes an ``async def run(settings, db, stop)``
coroutine; this module only starts them and stops them together. ``rumbo serve``
on SQLite runs the same services in-process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.reactions import subscribe_all

log = logging.getLogger(__name__)

Service = Callable[[Settings, Database, asyncio.Event], Coroutine[Any, Any, None]]


def services() -> list[tuple[str, Service]]:
    """The background services, by name. Imported lazily: each pulls in its domain."""
    found: list[tuple[str, Service]] = []
    from rumbo.eta.rescore import run as eta_rescore  # idle until a model is trained

    found.append(("eta-rescore", eta_rescore))
    from rumbo.events.stale import run as stale_thresholds

    found.append(("stale-thresholds", stale_thresholds))
    from rumbo.devices.tasks import run as device_positions  # idle without RUMBO_MQTT_URL

    found.append(("device-positions", device_positions))
    from rumbo.routes.tasks import run as route_windows  # idle without a day under way

    found.append(("route-windows", route_windows))
    from rumbo.notifications.tasks import run as notifications

    found.append(("notifications", notifications))
    return found


async def run_services(settings: Settings, stop: asyncio.Event) -> None:
    subscribe_all(settings.notification_merge_seconds)
    db = Database(settings)
    tasks = [asyncio.create_task(run(settings, db, stop), name=name) for name, run in services()]
    try:
        if tasks:
            await asyncio.gather(*tasks)
        else:
            await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        db.dispose()


def main(settings: Settings) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_services(settings, stop)

    asyncio.run(runner())
