"""What a shared abuse limit costs on the tracking-lookup path.

Times, on a fresh PostgreSQL schema, (1) the limit alone — the in-memory sliding
window against the shared one (one autocommit upsert on ``rate_limit_counters``) —
for one client and for many distinct clients, and (2) a whole
``GET /api/v1/track/{code}`` through the app with each store, from threads (the
server's own thread pool does the same).

    .venv/bin/python benchmarks/limits.py --seconds 10 --threads 8

Prints one JSON document: per-call latency (p50/p99, µs) and calls per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import FreshDatabase
from fastapi.testclient import TestClient

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.kit.counters import SharedWindow
from rumbo.kit.ratelimit import Limit, SlidingWindow
from rumbo.merchants.service import create_merchant

ORDER = {
    "external_id": "BENCH-1",
    "customer": {"name": "Ana Souza", "email": "ana@example.com", "postal_code": "01310-100"},
    "destination": {
        "city": "São Paulo",
        "state": "SP",
        "postal_code": "01310-100",
        "country": "BR",
    },
    "items": [{"sku": "TSHIRT-M", "name": "Camiseta", "quantity": 1}],
    "placed_at": "2026-11-20T10:00:00-03:00",
}
LOTS = 10**9  # never refuse during the measurement: the cost of counting is measured


def measure(call: Callable[[int], Any], seconds: float, threads: int) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds

    def run(slot: int) -> None:
        n = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            call(slot * 1_000_000 + n)
            latencies[slot].append(time.perf_counter() - started)
            n += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - began
    every = sorted(x for slot in latencies for x in slot)
    return {
        "calls": len(every),
        "per_second": round(len(every) / elapsed, 1),
        "p50_us": round(statistics.median(every) * 1e6, 1),
        "p99_us": round(every[int(len(every) * 0.99)] * 1e6, 1),
    }


def limit_alone(limit: Limit, seconds: float, threads: int) -> dict[str, Any]:
    return {
        "one_client": measure(lambda n: limit.take("198.51.100.7"), seconds, threads),
        "many_clients": measure(lambda n: limit.take(f"client-{n}"), seconds, threads),
    }


def whole_lookup(url: str, shared: bool, seconds: float, threads: int) -> dict[str, float]:
    settings = Settings(
        database_url=url, env="test", secret_key="bench", limit_lookups_per_client=LOTS
    )
    app = create_app(settings)
    if not shared:
        app.state.lookup_limit = SlidingWindow(LOTS, 60, name="lookups_per_client")
    with app.state.db.session() as session:
        api_key = create_merchant(session, f"Bench {shared}", _now()).api_key
    with TestClient(app) as client:
        order = client.post(
            "/api/v1/orders", json=ORDER, headers={"Authorization": f"Bearer {api_key}"}
        ).json()
        path = f"/api/v1/track/{order['tracking_code']}"
        assert client.get(path).status_code == 200
        return measure(lambda n: client.get(path), seconds, threads)


def _now() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    fresh = FreshDatabase("postgresql", Path(tempfile.mkdtemp()))
    try:
        app = create_app(Settings(database_url=fresh.url, env="test", secret_key="bench"))
        engine = app.state.db.engine
        report = {
            "limit_memory": limit_alone(
                SlidingWindow(LOTS, 60, name="m"), args.seconds, args.threads
            ),
            "limit_postgresql": limit_alone(
                SharedWindow(engine, LOTS, 60, "bench"), args.seconds, args.threads
            ),
            "lookup_memory_limit": whole_lookup(fresh.url, False, args.seconds, args.threads),
            "lookup_shared_limit": whole_lookup(fresh.url, True, args.seconds, args.threads),
            "threads": args.threads,
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }
        app.state.db.dispose()
    finally:
        fresh.drop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
