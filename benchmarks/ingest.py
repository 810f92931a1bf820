"""Ingestion and lookup throughput, through the whole HTTP path, on SQLite and PostgreSQL.

For each database, in one run:

(a) bulk ingestion: ``POST /api/v1/events`` in batches of 500 spread over many
    orders, against ``rumbo serve --workers 2``, status derivation included;
(b) the raw limit of the same database on this machine: the same event rows
    inserted with the driver's ``executemany`` in one transaction, no HTTP
    (and PostgreSQL's COPY), and the ratio (a)/(b); on PostgreSQL also the floor
    of the same work: each event with the writes it brings (its order's status
    columns and an outbox row) by the driver alone, with the status in the wide
    ``orders`` row as today and in a narrow status table (a design probe);
(c) public tracking lookups with 32 concurrent connections (wrk), alone and
    while (a) runs, each over all orders uniformly (every lookup a cache miss, the
    harsh case) and alone over 1,000 active orders (shoppers refreshing);
(d) single-event requests (one event per POST) with 32 concurrent connections;
(e) a bare endpoint (``GET /healthz``) with the same connections: the HTTP stack's
    own ceiling, and each of (c) and (d) as a share of it.

Usage::

    .venv/bin/python benchmarks/ingest.py                 # both databases
    .venv/bin/python benchmarks/ingest.py --db sqlite --events 100000

Needs ``wrk`` (Debian: ``apt-get install -y wrk``). PostgreSQL comes from
``RUMBO_BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
the run uses a private schema and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from common import NO_ABUSE_LIMITS, FreshDatabase, free_port
from sqlalchemy import insert

from rumbo.db import make_engine
from rumbo.kit.codes import new_tracking_code
from rumbo.merchants.service import create_merchant
from rumbo.models import Order

ROOT = Path(__file__).resolve().parent
RUMBO = Path(sys.executable).with_name("rumbo")
STATUSES = [
    "payment_confirmed",
    "preparing",
    "shipped",
    "in_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
]

LOOKUP_LUA = """
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/track/" .. codes[math.random(#codes)])
end
"""

BARE_LUA = """
request = function() return wrk.format("GET", "/healthz") end
"""

SINGLE_LUA = """
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local key = os.getenv("API_KEY")
local counter = 0
-- Event ids unique per thread and per run, so a repeated run on one database stores
-- new events instead of answering duplicates. The tag is a global that setup() sets in
-- each thread's own Lua state (a chunk-level local would shadow it, and every thread,
-- seeded in the same second, would then send the same ids).
math.randomseed(os.time())
local made = 0
function setup(thread)
  made = made + 1
  thread:set("tag", os.time() .. "-" .. made .. "-" .. math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"event_id":"single-%s-%d","source":"carrier","tracking_code":"%s","status":"in_transit",' ..
    '"occurred_at":"2026-11-22T%02d:%02d:00Z","location":{"city":"Curitiba","state":"PR","country":"BR"}}',
    tag, counter, codes[math.random(#codes)], counter % 24, counter % 60)
  return wrk.format("POST", "/api/v1/events",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
"""


class Target(FreshDatabase):
    """A fresh database of one kind, migrated, with one merchant and ``orders`` orders."""

    def __init__(self, kind: str, workdir: Path, orders: int) -> None:
        super().__init__(kind, workdir)
        engine = make_engine(self.url)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            from sqlalchemy.orm import Session

            with Session(bind=conn) as session:
                created = create_merchant(session, "Bench Store", now)
                session.flush()
            self.merchant_id = created.merchant_id
            self.api_key = created.api_key
            self.codes = [new_tracking_code() for _ in range(orders)]
            rows = [
                {
                    "merchant_id": self.merchant_id,
                    "external_id": f"B-{i}",
                    "tracking_code": code,
                    "request_hash": "0" * 64,
                    "customer_name": "Bench Shopper",
                    "customer_email": f"s{i}@example.com",
                    "customer_locale": "pt-BR",
                    "destination": {
                        "city": "São Paulo",
                        "state": "SP",
                        "postal_code": "01310-100",
                        "country": "BR",
                    },
                    "items": [],
                    "placed_at": now - timedelta(days=3),
                    "created_at": now,
                    "updated_at": now,
                    "status": "pending",
                    "version": 1,
                    "shipments_total": 0,
                    "shipments_delivered": 0,
                }
                for i, code in enumerate(self.codes)
            ]
            for start in range(0, len(rows), 5000):
                conn.execute(insert(Order), rows[start : start + 5000])
        engine.dispose()


class Server:
    def __init__(self, url: str, workers: int = 2) -> None:
        self.port = free_port()
        env = os.environ | {
            "RUMBO_DATABASE_URL": url,
            "RUMBO_LOG_LEVEL": "WARNING",
            "RUMBO_ENV": "development",
            **NO_ABUSE_LIMITS,
        }
        self.proc = subprocess.Popen(
            [
                str(RUMBO),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-access-log",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    settle([self.proc.pid])  # every worker started and warmed up
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _family(pids: list[int]) -> list[int]:
    found = list(pids)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                found += _family([int(p) for p in fh.read().split()])
        except OSError:
            pass
    return found


def settle(pids: list[int], limit: float = 120.0) -> None:
    """Wait until ``pids`` and their children are idle (below a tenth of a core over a
    second): a process starts by training the assistant's classifier in the
    background, and a measurement taken meanwhile measures that training."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        family = _family(pids)
        before = sum(cpu_seconds(p) for p in family)
        time.sleep(1.0)
        if sum(cpu_seconds(p) for p in family) - before < 0.1:
            return


def make_batches(codes: list[str], events: int, batch: int, seed: int = 1) -> list[bytes]:
    """Batches spread over many orders; each order's events move it along its journey."""
    rng = random.Random(seed)
    step: dict[str, int] = {}
    base = datetime(2026, 11, 20, tzinfo=UTC)
    bodies = []
    for b in range(events // batch):
        items = []
        for i in range(batch):
            code = rng.choice(codes)
            n = step.get(code, 0)
            step[code] = n + 1
            items.append(
                {
                    "event_id": f"bulk-{b}-{i}",
                    "source": "carrier",
                    "tracking_code": code,
                    "status": STATUSES[min(n, len(STATUSES) - 1)],
                    "occurred_at": (base + timedelta(hours=n * 7, seconds=i)).isoformat(),
                    "location": {"city": "Curitiba", "state": "PR", "country": "BR"},
                    "description": "Objeto em trânsito - por favor aguarde",
                }
            )
        bodies.append(orjson.dumps(items))
    return bodies


async def send_batches(
    base: str, key: str, bodies: list[bytes], concurrency: int = 4
) -> dict[str, float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            body = queue.get_nowait()
            t0 = time.perf_counter()
            response = await client.post("/api/v1/events", content=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200 or response.json()["accepted"] != 500:
                errors += 1

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    events = sum(len(orjson.loads(b)) for b in bodies)
    latencies.sort()
    return {
        "events": events,
        "seconds": round(elapsed, 2),
        "events_per_s": round(events / elapsed),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "batch_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "errors": errors,
    }


def wrk(
    script: str, base: str, path: str, seconds: int, env: dict[str, str], connections: int = 32
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            fh.name,
            f"{base}{path}",
        ],
        capture_output=True,
        text=True,
        env=os.environ | env,
        check=True,
    ).stdout
    os.unlink(fh.name)

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_s": round(rps),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def raw_limit(target: Target, bodies: list[bytes]) -> dict[str, float]:
    """The same rows, inserted by the driver in one transaction: the database's own ceiling."""
    order_ids = {}
    received = datetime.now(UTC)
    if target.kind == "sqlite":
        conn = sqlite3.connect(target.url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        order_ids = dict(conn.execute("SELECT tracking_code, id FROM orders").fetchall())
    else:
        pg = psycopg.connect(target.url.replace("postgresql+psycopg://", "postgresql://"))
        order_ids = dict(pg.execute("SELECT tracking_code, id FROM orders").fetchall())
    rows = []
    for body in bodies:
        for item in orjson.loads(body):
            loc = item["location"]
            rows.append(
                (
                    target.merchant_id,
                    order_ids[item["tracking_code"]],
                    None,
                    "raw",
                    f"raw-{item['event_id']}",
                    item["status"],
                    item["occurred_at"],
                    received.isoformat(),
                    None,
                    item["description"],
                    loc["city"],
                    loc["state"],
                    loc["country"],
                    None,
                    None,
                    orjson.dumps(item).decode(),
                )
            )
    columns = ", ".join(
        [
            "merchant_id", "order_id", "shipment_id", "source", "event_id", "status",
            "occurred_at", "received_at", "code", "description", "city", "state",
            "country", "lat", "lon", "raw",
        ]
    )  # fmt: skip
    result: dict[str, float] = {"rows": len(rows)}
    if target.kind == "sqlite":
        t0 = time.perf_counter()
        with conn:
            conn.executemany(f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * 16)})", rows)
        result["executemany_rows_per_s"] = round(len(rows) / (time.perf_counter() - t0))
        conn.close()
    else:
        placeholders = ", ".join(["%s"] * 16)
        t0 = time.perf_counter()
        with pg.transaction(), pg.cursor() as cur:
            cur.executemany(f"INSERT INTO events ({columns}) VALUES ({placeholders})", rows)
        result["executemany_rows_per_s"] = round(len(rows) / (time.perf_counter() - t0))
        copy_rows = [(*r[:4], "copy" + r[4][3:], *r[5:]) for r in rows]
        t0 = time.perf_counter()
        with (
            pg.transaction(),
            pg.cursor() as cur,
            cur.copy(f"COPY events ({columns}) FROM STDIN") as copy,
        ):
            for row in copy_rows:
                copy.write_row(row)
        result["copy_rows_per_s"] = round(len(rows) / (time.perf_counter() - t0))
        result["executemany_with_order_and_outbox_rows_per_s"] = _floor(pg, columns, rows, "orders")
        with pg.transaction():
            pg.execute(_NARROW)
        result["executemany_with_narrow_status_and_outbox_rows_per_s"] = _floor(
            pg, columns, rows, "order_status_probe"
        )
        pg.close()
    return result


def _floor(
    pg: psycopg.Connection[Any], columns: str, rows: list[tuple[Any, ...]], table: str
) -> int:
    """What an ingested event writes besides itself, by the driver alone, in one
    transaction: its order's status columns (in ``table``: the wide ``orders`` row with
    its indexes, or a narrow status table) and an outbox row (the shopper's e-mail; the
    benchmark's orders all have one). No lookup, no rule, no coalescing: the floor of
    the same work on this database, so that bulk ingestion's distance from the raw
    insert splits into what the writes cost and what the code around them costs."""
    events = [(*r[:4], f"floor-{table}" + r[4][3:], *r[5:]) for r in rows]
    statuses = [(r[5], r[6], r[5], r[6], r[4], r[6], r[1]) for r in events]
    outbox = [
        (r[0], r[1], "email", "in_transit", f"{r[4]}", '{"status": "in_transit"}', r[7])
        for r in events
    ]
    key, touched = ("id", ", updated_at = now()") if table == "orders" else ("order_id", "")
    placeholders = ", ".join(["%s"] * 16)
    t0 = time.perf_counter()
    with pg.transaction(), pg.cursor() as cur:
        cur.executemany(f"INSERT INTO events ({columns}) VALUES ({placeholders})", events)
        cur.executemany(
            f"UPDATE {table} SET status = %s, status_at = %s, own_status = %s,"
            " own_status_at = %s, own_status_tiebreak = %s, last_event_at = %s,"
            f" version = version + 1{touched} WHERE {key} = %s",
            statuses,
        )
        cur.executemany(
            "INSERT INTO outbox_messages (merchant_id, order_id, channel, kind,"
            " idempotency_key, payload, status, attempts, next_attempt_at, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'queued', 0, %s, now())",
            outbox,
        )
    return round(len(rows) / (time.perf_counter() - t0))


# The status columns alone, keyed by order: the "narrow hot status table" design, to
# measure what moving them out of the wide orders row would change in the floor.
_NARROW = (
    "CREATE TABLE order_status_probe AS SELECT id AS order_id, status, status_at,"
    " own_status, own_status_at, own_status_tiebreak, last_event_at, version FROM orders;"
    " ALTER TABLE order_status_probe ADD PRIMARY KEY (order_id)"
)


def run(kind: str, orders: int, events: int, seconds: int, processes: int = 2) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"rumbo-bench-{kind}-"))
    target = Target(kind, workdir, orders)
    codes_file = workdir / "codes.txt"
    codes_file.write_text("\n".join(target.codes))
    env = {"CODES_FILE": str(codes_file), "API_KEY": target.api_key}
    # Shoppers refreshing the pages of the orders that are moving: 1,000 active orders.
    hot_file = workdir / "hot.txt"
    hot_file.write_text("\n".join(target.codes[:1000]))
    hot_env = env | {"CODES_FILE": str(hot_file)}
    results: dict[str, Any] = {"database": kind, "orders": orders, "api_processes": processes}
    server = Server(target.url, workers=processes)
    results["load_average_at_start"] = Path("/proc/loadavg").read_text().split()[0]
    try:
        # Warm up every worker's caches and connections.
        wrk(LOOKUP_LUA, server.base, "/", 2, env)
        results["lookup_alone"] = wrk(LOOKUP_LUA, server.base, "/", seconds, env)
        wrk(LOOKUP_LUA, server.base, "/", 2, hot_env)
        results["lookup_alone_hot_1000"] = wrk(LOOKUP_LUA, server.base, "/", seconds, hot_env)

        bodies = make_batches(target.codes, events, 500)
        during: dict[str, Any] = {}

        def lookups_during() -> None:
            time.sleep(0.5)
            during.update(wrk(LOOKUP_LUA, server.base, "/", max(seconds // 2, 3), env))

        thread = threading.Thread(target=lookups_during)
        thread.start()
        results["bulk_ingest"] = asyncio.run(send_batches(server.base, target.api_key, bodies))
        thread.join()
        results["lookup_during_ingest"] = during

        results["single_event"] = wrk(SINGLE_LUA, server.base, "/api/v1/events", seconds, env)
        # The HTTP stack's own ceiling in the same run: a bare endpoint, same connections.
        results["bare_endpoint"] = wrk(BARE_LUA, server.base, "/healthz", seconds, env)
        bare = results["bare_endpoint"]["requests_per_s"]
        results["ratio_to_bare_endpoint"] = {
            name: round(results[name]["requests_per_s"] / bare, 2)
            for name in ("lookup_alone", "lookup_alone_hot_1000", "single_event")
        }
        results["load_average_at_end"] = Path("/proc/loadavg").read_text().split()[0]
    finally:
        server.stop()
    results["raw_limit"] = raw_limit(target, bodies)
    results["ratio_http_to_raw"] = round(
        results["bulk_ingest"]["events_per_s"] / results["raw_limit"]["executemany_rows_per_s"], 2
    )
    floor = results["raw_limit"].get("executemany_with_order_and_outbox_rows_per_s")
    if floor:
        # The share of the raw rate that the writes alone leave, and how much of that
        # the HTTP path reaches.
        results["ratio_floor_to_raw"] = round(
            floor / results["raw_limit"]["executemany_rows_per_s"], 2
        )
        results["ratio_http_to_floor"] = round(results["bulk_ingest"]["events_per_s"] / floor, 2)
    target.drop()
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument(
        "--processes", default="2", help="API processes; a list (1,2,4) runs each in turn"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    args.out.mkdir(exist_ok=True)
    for kind in kinds:
        for processes in [int(p) for p in args.processes.split(",")]:
            result = run(kind, args.orders, args.events, args.seconds, processes)
            result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            name = f"ingest-{kind}-{processes}p.json"
            (args.out / name).write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
