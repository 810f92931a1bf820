"""``rumbo worker``: the background services, run side by side until stopped.

Each domain that has background work declares a
:class:`~rumbo.shared.services.BackgroundService` (``SERVICE``, beside its ``run``);
this module lists them, starts them and stops them together. ``rumbo serve``
on SQLite runs the same services in-process.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.devices import tasks as device_positions
from rumbo.eta import rescore as eta_rescore
from rumbo.events import stale as stale_thresholds
from rumbo.notifications import tasks as notifications
from rumbo.reactions import subscribe_all
from rumbo.routes import tasks as route_windows
from rumbo.shared.services import BackgroundService, Run

log = logging.getLogger(__name__)


# The services the domains declare (each its own ``SERVICE``), in start order.
SERVICES: tuple[BackgroundService, ...] = (
    eta_rescore.SERVICE,
    stale_thresholds.SERVICE,
    device_positions.SERVICE,
    route_windows.SERVICE,
    notifications.SERVICE,
)


def services() -> list[tuple[str, Run]]:
    """The background services, by name."""
    return [(service.name, service.run) for service in SERVICES]


@asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[None]:
    """``rumbo serve`` on SQLite runs the background services (``rumbo worker``) itself,
    for as long as the application lives (entered by ``create_app``'s lifespan)."""
    if not settings.worker_in_process:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_services(settings, stop), name="rumbo-worker")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=15)
        except Exception:
            log.exception("the in-process worker did not stop cleanly")


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
