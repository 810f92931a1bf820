"""A simulated delivery day through the real API: planned routes against the naive order,
live arrival windows against the true arrivals, and planning time for 1,000 stops.

    nice .venv/bin/python benchmarks/routes.py --couriers 10 --seed 1

One run on a fresh SQLite database (``--db postgresql`` for PostgreSQL) behind
``rumbo serve``: a seeded São Paulo day, 10 couriers × 80–120 parcels around a hub in
Pinheiros. Before the day, a week of the couriers' tracks is sent over OsmAnd HTTP, so
the plan's travel model (circuity, speed by hour) is learnt and its held-out error
reported. Then ``POST /api/v1/routes/plans`` plans the day (timed). The simulated
couriers drive their planned order with the "true" city: a circuity of 1.45, speed by
hour with morning and evening peaks, ±25 % noise per leg, 2–6 minutes at each door, a
few failed attempts; they send a fix every 5 minutes (GPS noise ~15 m) and a
``delivered`` event at each door. At every stop's true arrival minus one hour the
shopper's window is read from ``/api/v1/track/{code}`` (after the privacy gate), and
counted as a hit when the true arrival falls in it.

With ``--mqtt URL`` (e.g. ``mqtt://127.0.0.1:1883``) the day's fixes are published on
``rumbo/devices/{secret}/position`` at QoS 1 instead, and stored by ``rumbo worker``
(which also sends the day's notifications); every window is read only after the
worker has stored each fix published before it.

Reported: total km of the plan vs the naive order (parcels in creation order, split
over the couriers by capacity), stops later than the window the plan promised, the
share of arrivals inside the window shown an hour before and its mean width (goal
≥ 90 % with windows ≤ 60 min), and the planning time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from common import NO_ABUSE_LIMITS, FreshDatabase, free_port
from sqlalchemy.orm import Session

from rumbo.db import make_engine
from rumbo.devices.positions import haversine_m
from rumbo.merchants.service import create_merchant

RUMBO = Path(sys.executable).with_name("rumbo")
ZONE = ZoneInfo("America/Sao_Paulo")
HUB = (-23.5668, -46.6917)
# Streets run on a grid: the true path goes along one axis, then the other.
# km/h by local hour: slow at the morning and evening peaks.
TRUE_SPEED = {h: 24.0 for h in range(24)} | {
    7: 15.0,
    8: 14.0,
    9: 18.0,
    17: 15.0,
    18: 13.0,
    19: 17.0,
}


def _true_seconds(
    rng: random.Random, a: tuple[float, float], b: tuple[float, float], at: datetime
) -> float:
    metres = _street_metres(a, b)
    speed = TRUE_SPEED[at.astimezone(ZONE).hour] * rng.uniform(0.75, 1.25)
    return metres / (speed / 3.6)


_BLOCK = 0.0025  # about 250 m: a city block


def _street_path(a: tuple[float, float], b: tuple[float, float]) -> list[tuple[float, float]]:
    """Corners of a staircase from ``a`` to ``b``, a block at a time on each axis in
    turn, as a courier drives a street grid."""
    corners = [a]
    lat, lon = a
    while abs(b[0] - lat) > 1e-9 or abs(b[1] - lon) > 1e-9:
        lat += max(-_BLOCK, min(_BLOCK, b[0] - lat))
        corners.append((lat, lon))
        lon += max(-_BLOCK, min(_BLOCK, b[1] - lon))
        corners.append((lat, lon))
    return corners


def _street_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    corners = _street_path(a, b)
    return sum(haversine_m(*p, *q) for p, q in zip(corners, corners[1:], strict=False))


def _along(a: tuple[float, float], b: tuple[float, float], f: float) -> tuple[float, float]:
    """The point a share ``f`` of the way along the street path from ``a`` to ``b``."""
    corners = _street_path(a, b)
    legs = [haversine_m(*p, *q) for p, q in zip(corners, corners[1:], strict=False)]
    left = f * sum(legs)
    for (p, q), metres in zip(zip(corners, corners[1:], strict=False), legs, strict=True):
        if left <= metres and metres > 0:
            share = left / metres
            return p[0] + (q[0] - p[0]) * share, p[1] + (q[1] - p[1]) * share
        left -= metres
    return b


def _noisy(rng: random.Random, where: tuple[float, float]) -> tuple[float, float]:
    return where[0] + rng.gauss(0, 0.00014), where[1] + rng.gauss(0, 0.00014)


class Day:
    def __init__(self, base: str, api_key: str, rng: random.Random, day: date) -> None:
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=300
        )
        self.rng = rng
        self.day = day
        self.published = {}

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 300:
            request = response.request
            raise RuntimeError(
                f"{request.method} {request.url}: {response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else None

    mqtt: Any = None  # a connected paho client when fixes go over MQTT
    published: dict[str, float]  # device -> wall clock of its last published fix (MQTT)

    def fix(self, device: str, where: tuple[float, float], at: datetime) -> None:
        lat, lon = _noisy(self.rng, where)
        if self.mqtt is not None:
            self.published[device] = time.time()
            body = {"lat": round(lat, 6), "lon": round(lon, 6), "timestamp": int(at.timestamp())}
            self.mqtt.publish(f"rumbo/devices/{device}/position", json.dumps(body), qos=1)
            return
        self._ok(
            self.http.get(
                "/osmand",
                params={
                    "id": device,
                    "lat": f"{lat:.6f}",
                    "lon": f"{lon:.6f}",
                    "timestamp": int(at.timestamp()),
                },
            )
        )

    def caught_up(self, limit: float = 120.0) -> None:
        """Wait until the worker has stored every fix published so far (each device was
        last heard from after its last fix was published)."""
        deadline = time.monotonic() + limit
        while self.published and time.monotonic() < deadline:
            seen = {
                d["device_id"]: datetime.fromisoformat(d["last_seen_at"]).timestamp()
                for d in self._ok(self.http.get("/api/v1/devices"))
                if d["last_seen_at"]
            }
            if all(seen.get(dev, 0) >= at for dev, at in self.published.items()):
                return
            time.sleep(0.05)
        if self.published:
            raise RuntimeError("the worker did not store the published fixes in time")

    def events(self, batch: list[dict[str, Any]]) -> None:
        for start in range(0, len(batch), 500):
            self._ok(self.http.post("/api/v1/events", json=batch[start : start + 500]))

    def history(self, devices: list[str], days: int) -> None:
        """Past days of driving between random places, so the travel model has tracks."""
        for back in range(days, 0, -1):
            day = self.day - timedelta(days=back)
            for device in devices:
                at = datetime(day.year, day.month, day.day, 8, tzinfo=ZONE)
                here = HUB
                while at.hour < 18:
                    there = (
                        HUB[0] + self.rng.uniform(-0.06, 0.06),
                        HUB[1] + self.rng.uniform(-0.06, 0.06),
                    )
                    seconds = _true_seconds(self.rng, here, there, at)
                    steps = max(1, int(seconds // 120))
                    for k in range(1, steps + 1):  # a fix every two minutes along the way
                        f = k / steps
                        self.fix(
                            device, _along(here, there, f), at + timedelta(seconds=seconds * f)
                        )
                    at += timedelta(seconds=seconds + self.rng.uniform(120, 360))
                    here = there


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--couriers", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--history-days", type=int, default=3)
    parser.add_argument(
        "--mqtt", metavar="URL", help="publish the day's fixes to this broker (worker stores them)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    day = datetime.now(ZONE).date() - timedelta(days=1)  # a finished day: every time is past
    with tempfile.TemporaryDirectory() as workdir:
        target = FreshDatabase(args.db, Path(workdir))
        engine = make_engine(target.url)
        with engine.begin() as conn, Session(bind=conn) as session:
            api_key = create_merchant(session, "Bench Routes", datetime.now(UTC)).api_key
        engine.dispose()
        port = free_port()
        env = {
            **os.environ,
            "RUMBO_DATABASE_URL": target.url,
            "RUMBO_LOG_LEVEL": "WARNING",
            **NO_ABUSE_LIMITS,
        }
        server = subprocess.Popen(
            [str(RUMBO), "serve", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The worker sends the notifications and, with a broker, stores the MQTT fixes.
        worker = subprocess.Popen(
            [str(RUMBO), "worker"],
            env=env | ({"RUMBO_MQTT_URL": args.mqtt} if args.mqtt else {}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            result = run(f"http://127.0.0.1:{port}", api_key, rng, day, args)
        finally:
            for process in (server, worker):
                process.terminate()
                process.wait(20)
            target.drop()
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results" / "routes.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


def _mqtt_client(url: str, seed: int) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parts = urlsplit(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-routes-{seed}")
    client.max_inflight_messages_set(1000)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    return client


def _wait(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not start")


def run(
    base: str, api_key: str, rng: random.Random, day: date, args: argparse.Namespace
) -> dict[str, Any]:
    _wait(base)
    sim = Day(base, api_key, rng, day)
    devices = [f"bench-courier-{args.seed}-{i}" for i in range(args.couriers)]
    for device in devices:
        sim._ok(sim.http.post("/api/v1/devices", json={"device_id": device, "name": device}))
    started = time.monotonic()
    sim.history(devices, args.history_days)
    history_s = time.monotonic() - started
    if args.mqtt:
        sim.mqtt = _mqtt_client(args.mqtt, args.seed)
        sim.published = {}
    depot = sim._ok(
        sim.http.post(
            "/api/v1/routes/depots", json={"name": "Hub Pinheiros", "lat": HUB[0], "lon": HUB[1]}
        )
    )
    # Parcels: 80–120 per courier, scattered over ~12 km around the hub.
    count = sum(rng.randint(80, 120) for _ in devices)
    parcels: dict[int, dict[str, Any]] = {}
    morning = datetime(day.year, day.month, day.day, 7, tzinfo=ZONE)
    events = []
    for n in range(count):
        where = (HUB[0] + rng.uniform(-0.055, 0.055), HUB[1] + rng.uniform(-0.055, 0.055))
        order = sim._ok(
            sim.http.post(
                "/api/v1/orders",
                json={
                    "external_id": f"R{args.seed}-{n}",
                    "customer": {
                        "name": "Cliente",
                        "email": f"c{n}@example.com",
                        "locale": "pt-BR",
                        "postal_code": "05405-000",
                    },
                    "destination": {
                        "line1": f"Rua {n}",
                        "city": "São Paulo",
                        "state": "SP",
                        "postal_code": "05405-000",
                        "country": "BR",
                        "lat": where[0],
                        "lon": where[1],
                    },
                    "placed_at": (morning - timedelta(days=2)).isoformat(),
                },
            )
        )
        number = f"RB{args.seed}{n:07d}"
        shipment = sim._ok(
            sim.http.post(
                f"/api/v1/orders/{order['id']}/shipments",
                json={"carrier": "rumbo-courier", "tracking_number": number},
            )
        )
        events.append(
            {
                "event_id": f"ofd-{number}",
                "source": "carrier",
                "carrier": "rumbo-courier",
                "tracking_number": number,
                "status": "out_for_delivery",
                "occurred_at": morning.isoformat(),
            }
        )
        parcels[shipment["id"]] = {"where": where, "code": order["tracking_code"], "number": number}
    sim.events(events)
    capacity = math.ceil(count / len(devices) * 1.15)
    shifts = [
        {
            "device_id": d,
            "starts_at": datetime(day.year, day.month, day.day, 8, tzinfo=ZONE).isoformat(),
            "ends_at": datetime(day.year, day.month, day.day, 20, tzinfo=ZONE).isoformat(),
            "capacity": capacity,
        }
        for d in devices
    ]
    started = time.monotonic()
    plan = sim._ok(
        sim.http.post(
            "/api/v1/routes/plans",
            json={
                "depot_id": depot["id"],
                "day": day.isoformat(),
                "shifts": shifts,
                "service_seconds": 240,  # the mean time at a door in this simulation
            },
        )
    )
    planning_s = time.monotonic() - started

    def km(route: list[tuple[float, float]]) -> float:
        points = [HUB, *route, HUB]
        return sum(_street_metres(a, b) for a, b in zip(points, points[1:], strict=False)) / 1000

    planned_km = sum(km([(s["lat"], s["lon"]) for s in c["stops"]]) for c in plan["couriers"])
    ordered = [parcels[k]["where"] for k in sorted(parcels)]
    naive_km = sum(km(ordered[i : i + capacity]) for i in range(0, len(ordered), capacity))

    # Drive the day: courier by courier the true arrivals, then replay in time order.
    timeline: list[tuple[datetime, str, Any]] = []
    truth: dict[int, datetime] = {}
    promised: dict[int, tuple[datetime, datetime]] = {}
    for courier in plan["couriers"]:
        at = datetime.fromisoformat(courier["starts_at"])
        here = HUB
        for stop in courier["stops"]:
            there = (stop["lat"], stop["lon"])
            seconds = _true_seconds(rng, here, there, at)
            for k in range(1, int(seconds // 300) + 1):
                f = k * 300 / seconds
                timeline.append(
                    (
                        at + timedelta(seconds=k * 300),
                        "fix",
                        (
                            courier["device_id"],
                            _along(here, there, f),
                        ),
                    )
                )
            at += timedelta(seconds=seconds)
            truth[stop["shipment_id"]] = at
            promised[stop["shipment_id"]] = (
                datetime.fromisoformat(stop["window_start"]),
                datetime.fromisoformat(stop["window_end"]),
            )
            failed = rng.random() < 0.03
            timeline.append((at, "fix", (courier["device_id"], there)))
            timeline.append((at + timedelta(seconds=30), "done", (stop["shipment_id"], failed)))
            timeline.append((at - timedelta(hours=1), "look", stop["shipment_id"]))
            at += timedelta(seconds=rng.uniform(120, 360))
            here = there
    timeline.sort(key=lambda item: (item[0], item[1] != "fix"))
    tokens: dict[int, str] = {}
    hits, looks, widths, offsets = 0, 0, [], []
    pending_events: list[dict[str, Any]] = []
    for at, kind, what in timeline:
        if kind == "fix":
            if pending_events:
                sim.events(pending_events)
                pending_events = []
            sim.fix(what[0], what[1], at)
        elif kind == "done":
            shipment_id, failed = what
            number = parcels[shipment_id]["number"]
            pending_events.append(
                {
                    "event_id": f"end-{number}",
                    "source": "carrier",
                    "carrier": "rumbo-courier",
                    "tracking_number": number,
                    "status": "delivery_failed" if failed else "delivered",
                    "occurred_at": at.isoformat(),
                }
            )
        else:
            if pending_events:
                sim.events(pending_events)
                pending_events = []
            sim.caught_up()
            code = parcels[what]["code"]
            if what not in tokens:
                tokens[what] = sim._ok(
                    sim.http.post(f"/api/v1/track/{code}/verify", json={"postal_code": "05405-000"})
                )["token"]
            private = sim._ok(
                sim.http.get(f"/api/v1/track/{code}", headers={"X-Tracking-Token": tokens[what]})
            )["private"]
            arrival = (private or {}).get("arrival")
            if arrival is None:
                continue
            start, end = (
                datetime.fromisoformat(arrival["window_start"]),
                datetime.fromisoformat(arrival["window_end"]),
            )
            looks += 1
            widths.append((end - start).total_seconds() / 60)
            hits += start <= truth[what] <= end
            offsets.append((truth[what] - (start + (end - start) / 2)).total_seconds() / 60)
    if pending_events:
        sim.events(pending_events)
    late = sum(1 for k, at in truth.items() if at > promised[k][1])
    if sim.mqtt is not None:
        sim.mqtt.loop_stop()
        sim.mqtt.disconnect()
    return {
        "database": args.db,
        "day_positions_via": "mqtt" if args.mqtt else "osmand-http",
        "couriers": len(devices),
        "stops": count,
        "planned": len(truth),
        "not_routable": len(plan["not_routable"]),
        "planning_s": round(planning_s, 2),
        "history_upload_s": round(history_s, 1),
        "travel_model": plan["travel"] | {"speed_kmh_by_hour": "…"},
        "km_planned": round(planned_km, 1),
        "km_naive_creation_order": round(naive_km, 1),
        "late_vs_planned_window": late,
        "windows_read_an_hour_before": looks,
        "inside_window_share": round(hits / looks, 3) if looks else None,
        "mean_window_minutes": round(sum(widths) / len(widths), 1) if widths else None,
        "max_window_minutes": max(widths) if widths else None,
        "mean_arrival_minus_window_centre_minutes": round(sum(offsets) / len(offsets), 1)
        if offsets
        else None,
    }


if __name__ == "__main__":
    main()
