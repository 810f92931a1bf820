"""Readiness checks: can this process do its work right now?"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.devices.tasks import check_broker

CHECK_TIMEOUT = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def check_database(db: Database) -> Check:
    started = time.perf_counter()
    try:
        with db.reader() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except Exception as exc:
        return Check("database", False, _short(exc), time.perf_counter() - started)
    return Check("database", True, "reachable", time.perf_counter() - started)


def check_mqtt(url: str, timeout: float = CHECK_TIMEOUT) -> Check:
    """The MQTT broker accepts a connection (the check itself is the devices domain's)."""
    started = time.perf_counter()
    ok, detail = check_broker(url, timeout)
    return Check("mqtt", ok, detail, time.perf_counter() - started)


def readiness(settings: Settings, db: Database) -> list[Check]:
    """The database, and the MQTT broker when this process subscribes to it."""
    checks = [check_database(db)]
    if settings.mqtt_url and settings.worker_in_process:
        checks.append(check_mqtt(settings.mqtt_url))
    return checks


def _short(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300]
