"""The MQTT subscriber: positions published on ``rumbo/devices/{device_id}/position``.

Client library: **paho-mqtt 2.x**, not aiomqtt. aiomqtt is a thin asyncio wrapper
over paho itself; paho alone gives what this service needs with one dependency less:
its own network thread keeps reading the socket (keepalive, automatic reconnects)
while a batch is being committed, so the broker never waits on the database.

QoS 1 messages are acknowledged on receipt, not after the commit. Acknowledging
after the commit (paho's ``manual_ack``) was tried and dropped: the broker's
in-flight window per client (Mosquitto's default ``max_inflight_messages``, 20)
then bounds how many fixes each transaction can hold, the subscriber falls behind,
and Mosquitto discards QoS 1 messages beyond its per-client queue
(``max_queued_messages``, 1,000) — messages were lost in test runs, far more than a
crash of this process can lose (the batch being written, well under a second).

Several workers can run at once: the subscription is shared (``$share/rumbo/…``,
MQTT 5 §4.8.2; Mosquitto and EMQX accept it from 3.1.1 clients too), so the broker
gives each message to one of them instead of every worker storing every fix.

paho's thread queues each message; one thread drains the queue in batches (whatever
arrived, up to ``_BATCH``) through :func:`rumbo.devices.service.store_positions`,
the same path as OsmAnd (see benchmarks/README.md for the rates).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.devices.positions import Position, PositionError, parse_mqtt_position
from rumbo.devices.service import store_positions
from rumbo.kit.clock import Clock, SystemClock
from rumbo.shared.metrics import POSITIONS
from rumbo.shared.services import BackgroundService

log = logging.getLogger(__name__)

TOPIC = "rumbo/devices/+/position"
SHARED_TOPIC = f"$share/rumbo/{TOPIC}"
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes


def mqtt_client(url: str) -> tuple[mqtt.Client, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"RUMBO_MQTT_URL must be mqtt://host[:port], not {parts.scheme}://")
    tls = parts.scheme in ("mqtts", "ssl")
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"rumbo-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
    )
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    if tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client, parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883)


def check_broker(url: str, timeout: float) -> tuple[bool, str]:
    """Connect to the broker and wait for its CONNACK (MQTT 3.1.1 §3.2: a broker
    that accepts the connection answers CONNACK with return code 0): (ok, detail)."""
    accepted = threading.Event()
    refused: list[str] = []
    try:
        client, host, port = mqtt_client(url)
    except ValueError as exc:
        return False, str(exc)

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
        first = (str(exc).strip().splitlines() or [""])[0]
        detail, ok = f"{host}:{port}: " + f"{type(exc).__name__}: {first}"[:300], False
    return ok, detail


async def run(
    settings: Settings,
    db: Database,
    stop: asyncio.Event,
    *,
    clock: Clock | None = None,
    topic: str = SHARED_TOPIC,
    on_subscribed: Callable[[], None] | None = None,
) -> None:
    """Subscribe and store positions until ``stop`` is set; idle without RUMBO_MQTT_URL.

    ``on_subscribed`` is called (from paho's thread) once the broker granted the
    subscription: publishers started before that would be lost on a clean session.
    """
    if not settings.mqtt_url:
        await stop.wait()
        return
    clock = clock or SystemClock()
    # paho's thread appends, one writer thread drains and commits: no event-loop hop
    # per message (measured: the per-message wake-ups, not the database, were the limit).
    inbox: queue.SimpleQueue[_Message | None] = queue.SimpleQueue()
    client, host, port = mqtt_client(settings.mqtt_url)

    def on_connect(client: mqtt.Client, _: object, __: object, reason: object, ___: object) -> None:
        # (Re)subscribe on every connection: a clean session forgets subscriptions.
        log.info("MQTT connected to %s:%s (%s); subscribing to %s", host, port, reason, topic)
        client.subscribe(topic, qos=1)

    def on_message(_: mqtt.Client, __: object, message: mqtt.MQTTMessage) -> None:
        inbox.put(_Message(message.topic, bytes(message.payload)))

    def on_subscribe(*_: object) -> None:
        if on_subscribed is not None:
            on_subscribed()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect_async(host, port, keepalive=30)
    client.loop_start()
    writer = threading.Thread(
        target=_drain,
        args=(inbox, db, clock, settings.arriving_soon_meters),
        name="rumbo-mqtt-positions",
        daemon=True,
    )
    writer.start()
    try:
        await stop.wait()
    finally:
        client.disconnect()
        client.loop_stop()
        inbox.put(None)  # store what arrived, then end
        await asyncio.to_thread(writer.join, 30)


def _drain(
    inbox: queue.SimpleQueue[_Message | None], db: Database, clock: Clock, meters: float
) -> None:
    while True:
        first = inbox.get()
        if first is None:
            return
        batch = [first]
        stopping = False
        while len(batch) < _BATCH:
            try:
                nxt = inbox.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                stopping = True
                break
            batch.append(nxt)
        _store(db, batch, clock, meters)
        if stopping:
            return


def _store(db: Database, batch: list[_Message], clock: Clock, meters: float) -> None:
    """Store one batch; on failure, each message alone, so one bad fix never costs the
    others (one that still fails is logged and dropped)."""
    now = clock.now()
    parsed: list[Position] = []
    for message in batch:
        try:
            parsed.append(parse_mqtt_position(message.topic, message.payload))
        except PositionError as exc:
            log.warning("dropped MQTT message on %s: %s", message.topic, exc.message)
    groups = [parsed] if parsed else []
    while groups:
        group = groups.pop()
        try:
            with db.session() as session:
                outcome = store_positions(session, group, now, arriving_soon_meters=meters)
        except Exception:
            if len(group) > 1:
                groups.extend([item] for item in group)
            else:
                log.exception("storing an MQTT position failed; dropped")
            continue
        POSITIONS.inc(outcome.stored)
        if outcome.unknown_devices:
            log.info(
                "MQTT positions from unregistered devices: %s", sorted(outcome.unknown_devices)
            )


SERVICE = BackgroundService("device-positions", run)  # idle without RUMBO_MQTT_URL
