"""Peak season: a Black-Friday-shaped day compressed into minutes, on PostgreSQL.

The production shape on one machine: ``rumbo serve --workers 2`` (two API
processes) and two ``rumbo worker`` processes (notifications, device positions),
PostgreSQL, Mosquitto. The day is six phases (night, morning, midday peak,
afternoon, evening rush, late) whose load is a share of ``--rate``, the events
per second at the peak. In every phase, at once:

- the store creates orders in bursts (``POST /api/v1/orders``, ten at a time);
- the warehouse sends events in batches of 25 and carriers one by one
  (``POST /api/v1/events``), each moving an order one step along its journey;
- couriers publish positions over MQTT (QoS 1) on ``rumbo/devices/{id}/position``;
- shoppers poll their order (``GET /api/v1/track/{code}`` and the page ``/t/{code}``)
  and ``--sse`` of them hold the live stream ``/t/{code}/events`` open all day;
- every status change goes out as a signed webhook to a local receiver (its own
  process) that notes when each arrives;
- a share of the orders (``--opted-in``) has the shopper's WhatsApp opt-in and a
  device subscribed to Web Push: their news also goes out as WhatsApp template
  messages and push messages, to the local Cloud API and push service of
  ``benchmarks/channels.py``, which note when each arrives.

The load is open-loop (requests leave on schedule whether or not earlier ones
came back, up to ``--in-flight``), so a server that falls behind shows it as
latency, lag and refused sends, not as a politely slower client. Reported per
phase: events offered and acknowledged per second, lookup p50/p99, delivery lag
per channel (event sent → webhook, WhatsApp or push message received, for the events
sent in that phase) p50/p99, errors, and per process the peak RSS and CPU.
Shopper news normally waits ``RUMBO_NOTIFICATION_MERGE_SECONDS`` (300 s) so that a
burst goes out as one message; ``--merge-seconds`` (0 by default) sets it here, and
the opted-in shoppers live where it is daytime, so that quiet hours hold nothing.
``--rates 50,100,200`` runs the day at each peak rate in turn, to find
where it stops keeping up; ``--profile`` records the busiest process with py-spy
during the peak phase and prints its top functions.

Usage::

    .venv/bin/python benchmarks/peak.py --rates 50,100,200 --phase-seconds 10 --profile

The load generator runs on the same two cores as everything else; its own CPU is
reported beside the server's. PostgreSQL: ``RUMBO_BENCH_POSTGRES_URL`` (a private
schema, dropped afterwards); broker: ``RUMBO_BENCH_MQTT_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import orjson
import paho.mqtt.client as mqtt
from channels import PUSH_REPLY, VAPID, WHATSAPP_REPLY, BenchDevice, whatsapp_account
from common import NO_ABUSE_LIMITS, free_port, webhook_receiver
from ingest import Target, cpu_seconds, settle  # a fresh schema with one merchant and N orders
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import String, cast, create_engine, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from rumbo.kit.timezones import zone_name_of
from rumbo.models import Order, PushSubscription, ShopperPreference
from rumbo.notifications.outbox import QUIET_HOURS
from rumbo.notifications.restraint import is_quiet

ROOT = Path(__file__).resolve().parent
RUMBO = Path(sys.executable).with_name("rumbo")
# Share of the peak rate in each phase of the day.
DAY = [
    ("night", 0.2),
    ("morning", 0.5),
    ("midday peak", 1.0),
    ("afternoon", 0.6),
    ("evening rush", 0.9),
    ("late", 0.3),
]
JOURNEY = [
    "payment_confirmed",
    "preparing",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
]
WAREHOUSE = {"payment_confirmed", "preparing", "shipped"}
DEVICES = 100


# ------------------------------------------------------------------------------ receiver


def hook_arrival(hook: str, body: bytes) -> tuple[str, str, str, float]:
    """What the receiver notes of each webhook: id, tracking code, status, arrival."""
    data = orjson.loads(body).get("data", {})
    code = (data.get("order") or {}).get("tracking_code", "")
    return (hook, code, data.get("status", ""), time.time())


def whatsapp_arrival(path: str, body: bytes) -> tuple[str, str, str, float]:
    """The same of a Cloud API template message: its templates are named ``rumbo_{kind}``
    and its second parameter is the tracking code."""
    data = orjson.loads(body)
    template = data["template"]
    code = template["components"][0]["parameters"][1]["text"]
    return (
        data["biz_opaque_callback_data"],
        code,
        template["name"].removeprefix("rumbo_"),
        time.time(),
    )


def push_arrival(path: str, body: bytes) -> tuple[str, bytes, float]:
    """A push message is encrypted for its device: kept whole, read after the run."""
    return (path, body, time.time())


class Peer:
    """A local receiver in its own process (``common.webhook_receiver``)."""

    def __init__(self, ctx: Any, note: Any, reply: bytes | None = None) -> None:
        ports: Any = ctx.Queue()
        self.out: Any = ctx.Queue()
        self.stop = ctx.Event()
        args = (ports, self.stop, self.out, note) + ((reply,) if reply is not None else ())
        self.proc = ctx.Process(target=webhook_receiver, args=args, daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{ports.get(timeout=30)}"

    def finish(self) -> list[Any]:
        """Stop it; everything it noted, in arrival order."""
        self.stop.set()
        noted: list[Any] = self.out.get(timeout=60)
        self.proc.join(10)
        return noted


# ----------------------------------------------------------------------------- processes


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker, which uvicorn's supervisor also starts."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"resource_tracker" in fh.read()
    except OSError:
        return True


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Fleet:
    """The API processes and the workers, with per-process RSS and CPU sampling."""

    def __init__(self, url: str, broker: str, settings: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "RUMBO_DATABASE_URL": url,
            "RUMBO_LOG_LEVEL": "WARNING",
            "RUMBO_ENV": "development",
            "RUMBO_MQTT_URL": broker,
            "RUMBO_RUN_WORKER_IN_PROCESS": "false",
            "RUMBO_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the receiver is on loopback
            # Abuse limits are per client address and key; here every shopper is
            # 127.0.0.1 and the store uses one key.
            **NO_ABUSE_LIMITS,
            **settings,
        }
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.server = subprocess.Popen(
            [str(RUMBO), "serve", "--port", str(self.port), "--workers", "2", "--no-access-log"],
            env=env,
            **quiet,  # type: ignore[arg-type]
        )
        self.workers = [
            subprocess.Popen([str(RUMBO), "worker"], env=env, **quiet)  # type: ignore[arg-type]
            for _ in range(2)
        ]
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        settle([self.server.pid, *(w.pid for w in self.workers)])  # all up and warmed up
        self.rss: dict[str, float] = defaultdict(float)
        self.cpu_at: dict[str, float] = {}

    def processes(self) -> dict[str, int]:
        named = {"api supervisor": self.server.pid}
        api = [pid for pid in _children(self.server.pid) if not _is_helper(pid)]
        for n, pid in enumerate(api):
            named[f"api {n + 1}"] = pid
        for n, worker in enumerate(self.workers):
            named[f"worker {n + 1}"] = worker.pid
        named["load generator"] = os.getpid()
        return named

    def sample(self) -> None:
        for name, pid in self.processes().items():
            self.rss[name] = max(self.rss[name], _rss_mb(pid))

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.processes().items()}

    def stop(self) -> None:
        for proc in [self.server, *self.workers]:
            proc.terminate()
        for proc in [self.server, *self.workers]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---------------------------------------------------------------------------------- load


class Day:
    """One compressed day at a given peak rate; the open-loop load generator."""

    def __init__(
        self, fleet: Fleet, api_key: str, codes: list[str], step: dict[str, int], args: Any
    ) -> None:
        self.fleet = fleet
        self.api_key = api_key
        self.codes = codes  # shared by the days: orders keep their journeys
        self.step = step
        self.args = args
        self.rnd = random.Random(args.seed + int(args.rate))
        self.sent_at: dict[tuple[str, str], float] = {}
        self.in_flight = 0
        self.tag = f"{int(time.time())}"
        self.counter = 0
        self.stats: dict[str, Any] = {}

    # -- one request of each kind; each returns (ok, seconds)

    def _next_events(self, n: int, source: str) -> list[dict[str, Any]]:
        events = []
        now = datetime.now(UTC)
        for _ in range(n):
            code = self.rnd.choice(self.codes)
            k = self.step.get(code, 0)
            if k >= len(JOURNEY):
                code = self.rnd.choice(self.codes)
                k = self.step.get(code, 0)
                if k >= len(JOURNEY):
                    continue
            self.step[code] = k + 1
            self.counter += 1
            status = JOURNEY[k]
            self.sent_at.setdefault((code, status), time.time())
            events.append(
                {
                    "event_id": f"peak-{self.tag}-{self.counter}",
                    "source": "warehouse" if status in WAREHOUSE else source,
                    "tracking_code": code,
                    "status": status,
                    "occurred_at": (now - timedelta(minutes=10 - k)).isoformat(),
                    "location": {"city": "Cajamar", "state": "SP", "country": "BR"},
                }
            )
        return events

    async def _request(self, kind: str, call: Any) -> None:
        if self.in_flight >= self.args.in_flight:
            self.phase["refused"][kind] += 1  # the client could not keep the schedule
            return
        self.in_flight += 1
        started = time.perf_counter()
        failure = kind
        try:
            async with call() as response:
                body = await response.read()
            ok = response.status < 400
            failure = f"{kind} {response.status}"
            if kind == "events" and ok:
                self.phase["acked"] += orjson.loads(body)["accepted"]
            if kind == "orders" and response.status == 201:
                self.codes.append(orjson.loads(body)["tracking_code"])
        except (aiohttp.ClientError, TimeoutError) as exc:
            ok = False
            failure = f"{kind} {type(exc).__name__}"
        finally:
            self.in_flight -= 1
        self.phase["latency"][kind].append(time.perf_counter() - started)
        self.phase["requests"][kind] += 1
        if not ok:
            self.phase["errors"][failure] += 1

    async def _every(self, per_second: float, launch: Any) -> None:
        """Launch ``launch()`` ``per_second`` times a second until the phase ends."""
        if per_second <= 0:
            return
        owed = 0.0
        last = time.monotonic()
        while (now := time.monotonic()) < self.phase_end:
            # By the clock, not by ticks: a late wake-up launches what it owes.
            owed += per_second * (now - last)
            last = now
            while owed >= 1:
                owed -= 1
                asyncio.ensure_future(launch())
            await asyncio.sleep(0.05)

    async def run_phase(self, client: aiohttp.ClientSession, name: str, share: float) -> None:
        rate = self.args.rate * share
        auth = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        self.phase: dict[str, Any] = {
            "acked": 0,
            "offered": 0,
            "latency": defaultdict(list),
            "requests": Counter(),
            "errors": Counter(),
            "refused": Counter(),
        }
        self.phase_end = time.monotonic() + self.args.phase_seconds

        async def batch() -> None:
            events = self._next_events(25, "carrier")
            self.phase["offered"] += len(events)
            await self._request(
                "events", lambda: client.post("/api/v1/events", data=_json(events), headers=auth)
            )

        async def single() -> None:
            events = self._next_events(1, "carrier")
            if events:
                self.phase["offered"] += 1
                await self._request(
                    "events",
                    lambda: client.post("/api/v1/events", data=_json(events[0]), headers=auth),
                )

        async def orders() -> None:
            for _ in range(10):
                self.counter += 1
                body = {
                    "external_id": f"BF-{self.tag}-{self.counter}",
                    "customer": {
                        "name": "Shopper",
                        "email": f"bf{self.counter}@example.com",
                        "locale": "pt-BR",
                        "postal_code": "01310-100",
                    },
                    "destination": {
                        "city": "São Paulo",
                        "postal_code": "01310-100",
                        "country": "BR",
                    },
                    "items": [{"sku": "TV-55", "name": "TV", "quantity": 1}],
                    "placed_at": datetime.now(UTC).isoformat(),
                }

                await self._request(
                    "orders",
                    lambda body=body: client.post("/api/v1/orders", data=_json(body), headers=auth),
                )

        async def lookup() -> None:
            code = self.rnd.choice(self.codes)
            path = f"/api/v1/track/{code}" if self.rnd.random() < 0.5 else f"/t/{code}"
            await self._request("lookups", lambda: client.get(path))

        cpu_before = self.fleet.cpu()
        started = time.monotonic()
        wall_started = time.time()
        positions = threading.Thread(
            target=self.publish_positions, args=(rate / 2, self.args.phase_seconds), daemon=True
        )
        positions.start()
        profile = None
        if self.args.profile and share == 1.0 and self.busiest:
            profile = self.start_profile(self.busiest)
        sampler = asyncio.ensure_future(self.sample_rss())
        await asyncio.gather(
            self._every(rate * 0.6 / 25, batch),
            self._every(rate * 0.4, single),
            self._every(rate / 50, orders),
            self._every(rate * self.args.lookups_per_event, lookup),
        )
        while self.in_flight and time.monotonic() < self.phase_end + 30:
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        sampler.cancel()
        positions.join()
        cpu_after = self.fleet.cpu()
        cpu = {k: round((cpu_after[k] - cpu_before.get(k, 0.0)) / elapsed, 2) for k in cpu_after}
        busy = {k: v for k, v in cpu.items() if k.startswith(("api ", "worker"))}
        self.busiest = max(busy, key=lambda k: busy[k]) if busy else None
        if profile is not None:
            self.stats["profile"] = self.finish_profile(*profile)
        lookups = sorted(self.phase["latency"]["lookups"])
        total = sum(self.phase["requests"].values())
        self.stats.setdefault("phases", []).append(
            {
                "phase": name,
                "events_offered_per_s": round(self.phase["offered"] / self.args.phase_seconds),
                "events_acked_per_s": round(self.phase["acked"] / elapsed),
                "lookups_per_s": round(len(lookups) / elapsed),
                "lookup_p50_ms": _ms(lookups, 0.5),
                "lookup_p99_ms": _ms(lookups, 0.99),
                "errors": dict(self.phase["errors"]),
                "error_rate": round(sum(self.phase["errors"].values()) / max(total, 1), 4),
                "refused_by_client": dict(self.phase["refused"]),
                "cpu_cores": cpu,
                "window": (wall_started, time.time()),
            }
        )
        print(json.dumps({k: v for k, v in self.stats["phases"][-1].items() if k != "window"}))

    async def sample_rss(self) -> None:
        while True:
            self.fleet.sample()
            await asyncio.sleep(1.0)

    def publish_positions(self, per_second: float, seconds: float) -> None:
        parts = urlsplit(self.args.broker)
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.max_inflight_messages_set(1000)
        client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        client.loop_start()
        start = time.monotonic()
        sent = 0
        base = datetime.now(UTC) - timedelta(hours=1)
        while (now := time.monotonic()) < start + seconds:
            due = int((now - start) * per_second)
            while sent < due:
                device = sent % DEVICES
                fix = {
                    "lat": -23.55 + sent * 1e-6,
                    "lon": -46.63 + device * 1e-4,
                    "timestamp": (base + timedelta(milliseconds=self.counter + sent)).isoformat(),
                    "speed": 20,
                }
                topic = f"rumbo/devices/{self.args.device_prefix}{device}/position"
                client.publish(topic, orjson.dumps(fix), 1)
                sent += 1
            time.sleep(0.02)
        self.stats["positions_published"] = self.stats.get("positions_published", 0) + sent
        client.loop_stop()
        client.disconnect()

    def start_profile(self, name: str) -> tuple[subprocess.Popen[bytes], Path, str]:
        pid = self.fleet.processes()[name]
        out = ROOT / "results" / "peak-profile.txt"
        out.parent.mkdir(exist_ok=True)
        seconds = max(int(self.args.phase_seconds) - 1, 2)
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return proc, out, name

    def finish_profile(self, proc: subprocess.Popen[bytes], out: Path, name: str) -> dict[str, Any]:
        proc.wait(60)
        if not out.exists():
            return {"process": name, "error": "py-spy wrote nothing"}
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        total = 0
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            n = int(count)
            total += n
            frames = stack.split(";")
            own[frames[-1]] += n
            for frame in set(frames):
                if "rumbo/" in frame:
                    inclusive[frame] += n
        return {
            "process": name,
            "samples": total,
            "top_self": [(f, round(n / total, 3)) for f, n in own.most_common(12)],
            "top_rumbo_inclusive": [(f, round(n / total, 3)) for f, n in inclusive.most_common(12)],
        }

    async def sse(self, client: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Hold ``--sse`` live streams open all day; count what they receive."""
        counts = Counter[str]()

        async def one(code: str) -> None:
            try:
                async with client.get(f"/t/{code}/events") as response:
                    counts["opened" if response.status == 200 else "refused"] += 1
                    async for line in response.content:
                        if line.startswith((b"data:", b"event:")):
                            counts["messages"] += 1
                        if stop.is_set():
                            break
            except (aiohttp.ClientError, asyncio.CancelledError):
                if not stop.is_set():
                    counts["dropped"] += 1

        tasks = [
            asyncio.ensure_future(one(self.rnd.choice(self.codes))) for _ in range(self.args.sse)
        ]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.stats["sse"] = dict(counts)

    async def run(self) -> dict[str, Any]:
        self.busiest: str | None = None
        # aiohttp, not httpx: httpx's async pool costs milliseconds of the load generator's
        # CPU per request under concurrency (encode/httpx#3215), which showed up here as
        # seconds of "lookup latency" the server never spent. The live streams get a
        # session of their own so that they never hold connections the requests wait for.
        requests = aiohttp.ClientSession(
            base_url=self.fleet.base,
            connector=aiohttp.TCPConnector(limit=self.args.in_flight + 16),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        streaming = aiohttp.ClientSession(
            base_url=self.fleet.base,
            connector=aiohttp.TCPConnector(limit=self.args.sse + 4),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        async with requests as client, streaming:
            stop = asyncio.Event()
            streams = asyncio.ensure_future(self.sse(streaming, stop))
            for name, share in DAY:
                await self.run_phase(client, name, share)
            stop.set()
            await streams
        self.stats["rss_mb"] = {k: round(v) for k, v in self.fleet.rss.items()}
        return self.stats


def probe(base: str, codes: list[str], rate: float, stop: Any, out: Any) -> None:
    """An independent witness: lookups at a fixed, low rate from a process of their own,
    one request at a time over one kept-alive connection, so that what it measures is
    the server's answer time, not the load generator's queue."""
    import http.client

    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    rnd = random.Random(5)
    samples: list[tuple[float, float]] = []
    next_at = time.monotonic()
    while not stop.is_set():
        code = rnd.choice(codes)
        started = time.perf_counter()
        try:
            conn.request("GET", f"/api/v1/track/{code}")
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
            continue
        samples.append((time.time(), time.perf_counter() - started))
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.monotonic()))
    out.put(samples)


def _probe_stats(samples: list[tuple[float, float]], start: float, end: float) -> dict[str, Any]:
    inside = sorted(latency for at, latency in samples if start <= at <= end)
    return {"n": len(inside), "p50_ms": _ms(inside, 0.5), "p99_ms": _ms(inside, 0.99)}


def _json(body: Any) -> bytes:
    return orjson.dumps(body)


def _ms(sorted_seconds: list[float], q: float) -> float | None:
    if not sorted_seconds:
        return None
    return round(
        sorted_seconds[min(int(len(sorted_seconds) * q), len(sorted_seconds) - 1)] * 1000, 1
    )


def _lags(sent_at: dict[tuple[str, str], float], seen: list[Any]) -> dict[str, Any]:
    first: dict[str, tuple[str, str, float]] = {}
    for hook, code, status, at in seen:
        first.setdefault(hook, (code, status, at))
    lags = sorted(
        at - sent_at[(code, status)]
        for code, status, at in first.values()
        if (code, status) in sent_at
    )
    return {
        "webhooks_received": len(first),
        "repeats": len(seen) - len(first),
        "lag_p50_s": round(statistics.median(lags), 2) if lags else None,
        "lag_p99_s": round(lags[min(int(len(lags) * 0.99), len(lags) - 1)], 2) if lags else None,
    }


def _channel_lags(
    sent_at: dict[tuple[str, str], float],
    arrivals: list[tuple[str, str, float]],
    start: float,
    end: float,
) -> dict[str, Any]:
    """Lag of the first arrival of each news whose event was sent in [start, end)."""
    first: dict[tuple[str, str], float] = {}
    for code, status, at in arrivals:
        first.setdefault((code, status), at)
    lags = sorted(
        at - sent_at[news]
        for news, at in first.items()
        if news in sent_at and start <= sent_at[news] < end
    )
    return {"n": len(lags), "p50_s": _s(lags, 0.5), "p99_s": _s(lags, 0.99)}


def _s(sorted_seconds: list[float], q: float) -> float | None:
    milliseconds = _ms(sorted_seconds, q)
    return None if milliseconds is None else round(milliseconds / 1000, 2)


def arrivals_by_channel(
    hooks: list[Any], texts: list[Any], posts: list[Any], device: BenchDevice
) -> dict[str, list[tuple[str, str, float]]]:
    """(tracking code, status, arrival) of everything each local peer received."""
    pushed = []
    for path, body, at in posts:
        shown = device.read(path, body)
        pushed.append((shown["tag"].removeprefix("rumbo-"), shown["status"], at))
    return {
        "webhook": [(code, status, at) for _, code, status, at in hooks],
        "whatsapp": [(code, status, at) for _, code, status, at in texts],
        "push": pushed,
    }


# Where opted-in shoppers may live, so that one of them is in daytime (quiet hours,
# restraint.QuietHours, hold WhatsApp and push through the night).
PLACES = [
    {"city": "São Paulo", "state": "SP", "country": "BR"},
    {"city": "Madrid", "country": "ES"},
    {"city": "Ciudad de México", "country": "MX"},
]


def opt_in(
    target: Target, share: float, push_url: str, device: BenchDevice, seconds: float
) -> dict[str, Any]:
    """Give every ``1/share``-th order a phone, the shopper's WhatsApp opt-in and a
    subscribed device, and move it where it is daytime for the whole run; the store
    gets a Cloud API sender with a template per status."""
    now = datetime.now(UTC)
    place = next(
        (
            p
            for p in PLACES
            if not any(
                is_quiet(at, zone_name_of(p), QUIET_HOURS)
                for at in (now, now + timedelta(seconds=seconds))
            )
        ),
        None,
    )
    if share <= 0 or place is None:
        print("no opted-in shoppers" + ("" if share <= 0 else ": quiet hours everywhere"))
        return {"orders": 0}
    engine = create_engine(target.url)
    with Session(engine) as session, session.begin():
        ids = list(session.scalars(select(Order.id).order_by(Order.id)))
        chosen = ids[:: max(1, round(1 / share))]
        session.add(whatsapp_account(target.merchant_id, now, JOURNEY))
        session.execute(
            update(Order)
            .where(Order.id.in_(chosen))
            .values(
                destination=place,
                customer_phone=literal("+55119") + func.lpad(cast(Order.id, String), 8, "0"),
            )
        )
        session.execute(
            insert(ShopperPreference),
            [
                {
                    "order_id": order_id,
                    "whatsapp": True,
                    "whatsapp_opt_in_at": now,
                    "whatsapp_opt_in_source": "store",
                    "push": True,
                    "updated_at": now,
                }
                for order_id in chosen
            ],
        )
        session.execute(insert(PushSubscription), device.subscriptions(chosen, push_url, now))
    engine.dispose()
    return {"orders": len(chosen), "of": len(ids), "destination": place}


def register(base: str, api_key: str, hook_url: str, prefix: str) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
        created = client.post("/api/v1/webhooks", json={"url": f"{hook_url}/h"})
        created.raise_for_status()
        for n in range(DEVICES):
            client.post(
                "/api/v1/devices", json={"device_id": f"{prefix}{n}", "name": f"Moto {n}"}
            ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="50,100,200", help="peak events/s, one day each")
    parser.add_argument("--phase-seconds", type=float, default=10.0)
    parser.add_argument("--orders", type=int, default=5000, help="orders before the day starts")
    parser.add_argument("--sse", type=int, default=100, help="live streams held open")
    parser.add_argument("--lookups-per-event", type=float, default=1.0)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", action="store_true", help="py-spy on the busiest process")
    parser.add_argument(
        "--probe-rate", type=float, default=5.0, help="witness lookups/s, from their own process"
    )
    parser.add_argument(
        "--opted-in",
        type=float,
        default=0.2,
        help="share of the orders whose shopper has WhatsApp and push on (0: none)",
    )
    parser.add_argument(
        "--merge-seconds",
        type=int,
        default=0,
        help="RUMBO_NOTIFICATION_MERGE_SECONDS: how long shopper news waits to be merged",
    )
    args = parser.parse_args()
    args.broker = os.environ.get("RUMBO_BENCH_MQTT_URL", "mqtt://127.0.0.1:1883")
    args.device_prefix = f"bf{int(time.time()) % 100000}-"

    ctx = mp.get_context("spawn")
    hooks = Peer(ctx, hook_arrival)
    whatsapp = Peer(ctx, whatsapp_arrival, WHATSAPP_REPLY)  # the Cloud API
    pushes = Peer(ctx, push_arrival, PUSH_REPLY)  # a push service
    device = BenchDevice()
    results: dict[str, Any] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory() as workdir:
        target = Target("postgresql", Path(workdir), args.orders)
        run_seconds = (len(args.rates.split(",")) * len(DAY) + 2) * args.phase_seconds + 600
        results["opted_in"] = opt_in(target, args.opted_in, pushes.url, device, run_seconds)
        print("opted in to WhatsApp and push:", json.dumps(results["opted_in"]), flush=True)
        fleet = Fleet(
            target.url,
            args.broker,
            {
                "RUMBO_VAPID_PRIVATE_KEY": VAPID,
                "RUMBO_WHATSAPP_BASE_URL": whatsapp.url,
                "RUMBO_NOTIFICATION_MERGE_SECONDS": str(args.merge_seconds),
            },
        )
        try:
            register(fleet.base, target.api_key, hooks.url, args.device_prefix)
            probe_q: Any = ctx.Queue()
            probe_stop = ctx.Event()
            witness = ctx.Process(
                target=probe,
                args=(fleet.base, list(target.codes), args.probe_rate, probe_stop, probe_q),
                daemon=True,
            )
            witness.start()
            time.sleep(args.phase_seconds)  # the witness alone: lookups with nothing else on
            days = []
            step: dict[str, int] = {}
            for rate in [float(r) for r in args.rates.split(",")]:
                args.rate = rate
                day = Day(fleet, target.api_key, target.codes, step, args)
                print(f"--- peak {rate:g} events/s", flush=True)
                stats = asyncio.run(day.run())
                stats["peak_rate"] = rate
                days.append((stats, dict(day.sent_at)))
            probe_stop.set()
            probed = probe_q.get(timeout=60)
            witness.join(10)
            time.sleep(10)  # let the outbox drain
            engine = create_engine(target.url)
            with engine.connect() as conn:
                results["positions_stored"] = conn.scalar(
                    text("SELECT count(*) FROM device_positions")
                )
            engine.dispose()
        finally:
            fleet.stop()
            seen, texts, posts = hooks.finish(), whatsapp.finish(), pushes.finish()
            target.drop()
    first_phase = days[0][0]["phases"][0]["window"][0] if days else time.time()
    results["probe_alone"] = _probe_stats(probed, 0.0, first_phase)
    print("probe alone:", json.dumps(results["probe_alone"]))
    arrivals = arrivals_by_channel(seen, texts, posts, device)
    for stats, day_sent in days:
        stats["notifications"] = _lags(day_sent, [s for s in seen if (s[1], s[2]) in day_sent])
        stats["received"] = {
            channel: sum((code, status) in day_sent for code, status, _ in noted)
            for channel, noted in arrivals.items()
        }
        for phase in stats["phases"]:
            window = phase.pop("window")
            phase["probe"] = _probe_stats(probed, *window)
            phase["lag"] = {
                channel: _channel_lags(day_sent, noted, *window)
                for channel, noted in arrivals.items()
            }
            print(phase["phase"], "probe:", json.dumps(phase["probe"]))
            print(phase["phase"], "lag:", json.dumps(phase["lag"]))
    results["days"] = [stats for stats, _ in days]
    results["positions_published"] = sum(s.get("positions_published", 0) for s in results["days"])
    out = ROOT / "results" / "peak.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for stats in results["days"]:
        print(json.dumps({k: v for k, v in stats.items() if k != "phases"}, indent=2))
    print(
        f"positions: {results['positions_published']} published, "
        f"{results.get('positions_stored')} stored"
    )


if __name__ == "__main__":
    main()
