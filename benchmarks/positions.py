"""Courier positions ingested per second, over OsmAnd HTTP and over MQTT (target 2,000/s).

(a) OsmAnd HTTP: ``rumbo serve --workers 2``; wrk (2 threads, 64 connections) sends
    Traccar Client's request, ``GET /osmand?id=…&lat=…&lon=…&timestamp=…&speed=…&batt=…``,
    one fix per request, spread over ``--devices`` registered devices, each device's
    fixes moving forward in time at a plausible speed (so each becomes its latest).
    Rate = positions stored (counted in the database) / seconds of the run.
(b) MQTT: ``rumbo worker`` with ``RUMBO_MQTT_URL``; paho publishes ``--messages`` fixes
    (QoS 1, 1,000 in flight) on ``rumbo/devices/{id}/position`` as fast as it can;
    rate = messages / seconds from the first publish until the last one is stored.

Usage::

    .venv/bin/python benchmarks/positions.py                       # both databases
    .venv/bin/python benchmarks/positions.py --db sqlite --seconds 10 --messages 50000

Needs ``wrk`` and an MQTT broker (``RUMBO_BENCH_MQTT_URL``, default
mqtt://127.0.0.1:1883). PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
postgresql://postgres@127.0.0.1:5432/test); the run uses a private schema and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
from common import NO_ABUSE_LIMITS, FreshDatabase, free_port
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from rumbo.db import make_engine
from rumbo.merchants.service import create_merchant
from rumbo.models import Device, DevicePosition

ROOT = Path(__file__).resolve().parent
RUMBO = Path(sys.executable).with_name("rumbo")

OSMAND_LUA = """
local devices = tonumber(os.getenv("DEVICES"))
local base = tonumber(os.getenv("BASE_TS"))
local prefix = os.getenv("PREFIX")
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
request = function()
  local per = math.floor(devices / 2)
  local d = tid * per + (counter % per)
  local step = math.floor(counter / per)
  counter = counter + 1
  return wrk.format("GET", string.format(
    "/osmand?id=%s%d&lat=%.6f&lon=%.6f&timestamp=%d&speed=12&batt=80",
    prefix, d, -23.55 + step * 0.00005, -46.63 + d * 0.0001, base + step))
end
"""


class Target(FreshDatabase):
    """A fresh migrated database with one merchant and ``devices`` registered devices."""

    def __init__(self, kind: str, workdir: Path, devices: int) -> None:
        super().__init__(kind, workdir)
        self.engine = make_engine(self.url)
        self.prefix = f"b{uuid.uuid4().hex[:6]}-"
        now = datetime.now(UTC)
        with self.engine.begin() as conn, Session(bind=conn) as session:
            merchant_id = create_merchant(session, "Bench Couriers", now).merchant_id
            session.flush()
            conn.execute(
                insert(Device),
                [
                    {
                        "merchant_id": merchant_id,
                        "device_id": f"{self.prefix}{i}",
                        "name": f"Courier {i}",
                        "created_at": now,
                    }
                    for i in range(devices)
                ]
                + [
                    {
                        "merchant_id": merchant_id,
                        "device_id": f"{self.prefix}probe",
                        "name": "probe",
                        "created_at": now,
                    }
                ],
            )

    def stored(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(DevicePosition)) or 0)

    def drop(self) -> None:
        self.engine.dispose()
        super().drop()


def _env(url: str, **extra: str) -> dict[str, str]:
    return (
        os.environ
        | {"RUMBO_DATABASE_URL": url, "RUMBO_LOG_LEVEL": "WARNING"}
        | NO_ABUSE_LIMITS
        | extra
    )


def osmand(target: Target, devices: int, seconds: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [str(RUMBO), "serve", "--port", str(port), "--workers", "2", "--no-access-log"],
        env=_env(target.url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        time.sleep(1.0)  # every worker up
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
            fh.write(OSMAND_LUA)
        before = target.stored()
        env = {
            "DEVICES": str(devices),
            "BASE_TS": str(int((datetime.now(UTC) - timedelta(hours=3)).timestamp())),
            "PREFIX": target.prefix,
        }
        out = subprocess.run(
            ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", fh.name, base],
            capture_output=True,
            text=True,
            env=os.environ | env,
            check=True,
        ).stdout
        os.unlink(fh.name)
        stored = target.stored() - before
    finally:
        server.terminate()
        server.wait(20)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 1)

    return {
        "positions_stored": stored,
        "positions_per_s": round(stored / seconds),
        "requests_per_s": round(rps),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def _publisher(broker: str) -> mqtt.Client:
    parts = urlsplit(broker)
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    return client


def _fix(lat: float, lon: float, at: datetime) -> bytes:
    return json.dumps(
        {"lat": lat, "lon": lon, "timestamp": at.isoformat(), "speed": 20, "battery": 77}
    ).encode()


def mqtt_run(
    target: Target, broker: str, devices: int, messages: int, rate: int = 0
) -> dict[str, Any]:
    worker = subprocess.Popen(
        [str(RUMBO), "worker"],
        env=_env(target.url, RUMBO_MQTT_URL=broker),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # an unread pipe would fill up and block the worker
    )
    client = _publisher(broker)
    try:
        # The worker's session is clean: wait until a probe fix is stored, so that
        # nothing is published before its subscription exists.
        probe = f"rumbo/devices/{target.prefix}probe/position"
        start_probe = datetime.now(UTC) - timedelta(minutes=30)
        deadline = time.monotonic() + 60
        step = 0
        while target.stored() == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the worker never stored the probe")
            client.publish(probe, _fix(-23.5, -46.6, start_probe + timedelta(seconds=step)), 1)
            step += 1
            time.sleep(0.2)
        time.sleep(0.5)
        before = target.stored()
        base = datetime.now(UTC) - timedelta(hours=2)
        payloads = []
        for n in range(messages):
            d, k = n % devices, n // devices
            payloads.append(
                (
                    f"rumbo/devices/{target.prefix}{d}/position",
                    _fix(-23.55 + k * 0.00005, -46.63 + d * 0.0001, base + timedelta(seconds=k)),
                )
            )
        started = time.monotonic()
        infos = []
        for n, (topic, payload) in enumerate(payloads):
            if rate and n % 100 == 0:  # paced: hold ``rate`` messages per second
                ahead = started + n / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            infos.append(client.publish(topic, payload, 1))
        for info in infos:
            info.wait_for_publish(120)
        published = time.monotonic() - started
        # Until all are stored, or nothing new arrived for 5 s (the broker dropped some).
        last, last_change = -1, time.monotonic()
        while (stored := target.stored() - before) < messages:
            if stored != last:
                last, last_change = stored, time.monotonic()
            elif time.monotonic() - last_change > 5:
                break
            time.sleep(0.05)
        elapsed = (last_change if stored < messages else time.monotonic()) - started
    finally:
        client.disconnect()
        client.loop_stop()
        worker.terminate()
        worker.wait(20)
    return {
        "messages": messages,
        "publish_rate": rate or "full speed",
        "positions_stored": stored,
        "lost": messages - stored,
        "publish_s": round(published, 2),
        "until_stored_s": round(elapsed, 2),
        "positions_per_s": round(stored / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10, help="length of the wrk run")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--skip", choices=["osmand", "mqtt"], default=None)
    parser.add_argument(
        "--rate", type=int, default=0, help="MQTT messages/s to publish (0: full speed)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None and args.skip != "osmand":
        sys.exit("wrk is needed: apt-get install -y wrk")
    broker = os.environ.get("RUMBO_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat()}
    for kind in kinds:
        results[kind] = {}
        for part in ("osmand", "mqtt"):
            if part == args.skip:
                continue
            with tempfile.TemporaryDirectory() as workdir:
                target = Target(kind, Path(workdir), args.devices)
                try:
                    if part == "osmand":
                        results[kind][part] = osmand(target, args.devices, args.seconds)
                    else:
                        results[kind][part] = mqtt_run(
                            target, broker, args.devices, args.messages, args.rate
                        )
                finally:
                    target.drop()
            print(kind, part, results[kind][part], flush=True)
    out = ROOT / "results" / "positions.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
