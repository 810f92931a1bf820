"""Order creation: one order per request from concurrent clients, and lists of orders.

For each database: a fresh schema with one merchant; ``rumbo serve --workers 2``;
then, each for ``--seconds``:

(a) ``--clients`` concurrent clients (aiohttp, keep-alive), each creating one order per
    ``POST /api/v1/orders`` as fast as it is answered (every order new);
(b) the same clients sending lists of ``--list`` orders;
(c) the same clients on the bare ``GET /healthz``, for the ratio: what the HTTP stack
    alone does on these cores in the same run.

Usage::

    .venv/bin/python benchmarks/orders.py --db both --seconds 10

PostgreSQL: ``RUMBO_BENCH_POSTGRES_URL`` (a private schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from ingest import Server, Target

ROOT = Path(__file__).resolve().parent


def order(tag: str, n: int) -> dict[str, Any]:
    return {
        "external_id": f"OB-{tag}-{n}",
        "customer": {
            "name": "Shopper",
            "email": f"ob{n}@example.com",
            "locale": "pt-BR",
            "postal_code": "01310-100",
        },
        "destination": {"city": "São Paulo", "postal_code": "01310-100", "country": "BR"},
        "items": [{"sku": "TV-55", "name": "TV", "quantity": 1}],
        "placed_at": datetime.now(UTC).isoformat(),
    }


async def load(
    base: str, key: str, clients: int, seconds: float, per_request: int
) -> dict[str, Any]:
    """``per_request`` 0: GET /healthz; 1: one order object; more: a list."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    tag = f"{time.time_ns()}"
    counter = 0
    latencies: list[float] = []
    made = errors = 0
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal counter, made, errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            if per_request == 0:
                async with session.get("/healthz") as response:
                    await response.read()
                    ok = response.status == 200
                    count = 1
            else:
                batch = [order(tag, counter + i) for i in range(per_request)]
                counter += per_request
                body = orjson.dumps(batch if per_request > 1 else batch[0])
                async with session.post("/api/v1/orders", data=body, headers=headers) as response:
                    data = orjson.loads(await response.read())
                    ok = response.status in (200, 201)
                    count = (data["created"] if per_request > 1 else 1) if ok else 0
            latencies.append(time.perf_counter() - started)
            made += count
            errors += 0 if ok else 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url=base, connector=connector) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "per_s": round(made / elapsed),
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "errors": errors,
    }


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        target = Target(kind, Path(workdir), 0)
        server = Server(target.url, workers=2)
        try:
            asyncio.run(load(server.base, target.api_key, args.clients, 2, 1))  # warm up
            results = {
                "load_average_at_start": Path("/proc/loadavg").read_text().split()[0],
                "single": asyncio.run(
                    load(server.base, target.api_key, args.clients, args.seconds, 1)
                ),
                "lists": asyncio.run(
                    load(server.base, target.api_key, args.clients, args.seconds, args.list)
                ),
                "bare_healthz": asyncio.run(
                    load(server.base, target.api_key, args.clients, args.seconds, 0)
                ),
                "load_average_at_end": Path("/proc/loadavg").read_text().split()[0],
            }
        finally:
            server.stop()
            target.drop()
    results["single_vs_bare"] = round(
        results["single"]["per_s"] / results["bare_healthz"]["per_s"], 3
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--list", type=int, default=100, help="orders per list in (b)")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    out = {kind: run(kind, args) for kind in kinds}
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "orders.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
