"""Positions published through the real broker land in the database, through the
same path as OsmAnd; bad payloads and unknown devices are dropped, nothing else."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.devices.tasks import run
from rumbo.kit.clock import FixedClock
from rumbo.models import Device, DevicePosition
from tests.conftest import NOW, Tenant
from tests.devices.conftest import register


@pytest.fixture
def subscriber(
    settings: Settings, db: Database, clock: FixedClock, mqtt_url: str
) -> Iterator[None]:
    """The MQTT service, running on its own loop, subscribed. A private shared-subscription
    group: no other test run or worker on the same broker takes its messages."""
    subscribed = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def service() -> None:
        await run(
            settings.model_copy(update={"mqtt_url": mqtt_url}),
            db,
            stop,
            clock=clock,
            topic=f"$share/test-{uuid.uuid4().hex[:8]}/rumbo/devices/+/position",
            on_subscribed=subscribed.set,
        )

    thread = threading.Thread(target=loop.run_until_complete, args=(service(),), daemon=True)
    thread.start()
    assert subscribed.wait(10), "the MQTT service did not subscribe"
    yield
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def publish(mqtt_url: str, messages: list[tuple[str, bytes]]) -> None:
    parts = urlsplit(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def stored(db: Database, device_id: str) -> int:
    with db.session(write=False) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(DevicePosition)
                .join(Device, Device.id == DevicePosition.device_pk)
                .where(Device.device_id == device_id)
            )
            or 0
        )


def test_published_positions_land_in_the_database(
    client: TestClient, tenant: Tenant, db: Database, mqtt_url: str, subscriber: None
) -> None:
    # Device ids are unique per test; the topic is rumbo/devices/{device_id}/position.
    device_id = f"mq{uuid.uuid4().hex[:10]}"
    register(client, tenant, device_id)
    topic = f"rumbo/devices/{device_id}/position"
    fixes = [
        (
            topic,
            json.dumps(
                {
                    "lat": -23.55 + i * 0.0001,
                    "lon": -46.63,
                    "timestamp": (NOW - timedelta(minutes=30 - i)).isoformat(),
                    "speed": 20,
                    "battery": 80,
                }
            ).encode(),
        )
        for i in range(30)
    ]
    future = json.dumps(
        {"lat": -23.5, "lon": -46.6, "timestamp": (NOW + timedelta(days=1)).isoformat()}
    ).encode()
    publish(
        mqtt_url,
        [
            *fixes,
            (topic, b"not json"),
            (topic, future),
            (f"rumbo/devices/unknown{uuid.uuid4().hex[:6]}/position", fixes[0][1]),
        ],
    )
    deadline = time.monotonic() + 10
    while stored(db, device_id) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(db, device_id) == 30
    listed = client.get("/api/v1/devices", headers=tenant.headers).json()
    position = next(d for d in listed if d["device_id"] == device_id)["position"]
    assert position["recorded_at"] == "2026-11-23T11:59:00Z"  # the newest; not the future one
    assert position["lat"] == pytest.approx(-23.55 + 29 * 0.0001)
    assert position["battery"] == 80


def test_without_a_broker_url_the_service_is_registered_and_idle(
    settings: Settings, db: Database
) -> None:
    from rumbo.worker import services

    assert "device-positions" in dict(services())
    stop = asyncio.Event()
    stop.set()
    asyncio.run(run(settings, db, stop))  # returns at once: nothing to subscribe to
