"""Readiness checks: can this process do its work right now?"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import text

from rumbo.config import Settings
from rumbo.db import Database

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
    """Connect to the broker and wait for its CONNACK (MQTT 3.1.1 §3.2: a broker
    that accepts the connection answers CONNACK with return code 0)."""
    from rumbo.devices.tasks import _client

    started = time.perf_counter()
    accepted = threading.Event()
    refused: list[str] = []
    try:
        client, host, port = _client(url)
    except ValueError as exc:
        return Check("mqtt", False, str(exc), 0.0)

    def on_connect(_: object, __: object, ___: object, reason: object, ____: object) -> None:
        if getattr(reason, "is_failure", False):
            refused.append(str(reason))
        accepted.set()

    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=10)
        client.loop_start()
        try:
            if not accepted.wait(timeout):
                detail, ok = f"no CONNACK from {host}:{port} within {timeout:g}s", False
            elif refused:
                detail, ok = f"broker refused the connection: {refused[0]}", False
            else:
                detail, ok = "reachable", True
            client.disconnect()
        finally:
            client.loop_stop()
    except OSError as exc:
        detail, ok = f"{host}:{port}: {_short(exc)}", False
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
