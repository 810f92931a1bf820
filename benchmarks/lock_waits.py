"""Do concurrent ingesting transactions wait for each other's order locks? (PostgreSQL)

Bulk ingestion as in ``ingest.py`` (N API processes, each a ``rumbo serve`` of one
worker, 4 senders spread over them evenly as by a load balancer, batches of 500
events), run in two shapes on a fresh schema each:

- **shared**: every sender's batches are spread over all the orders, as carriers'
  batches are — two transactions in flight almost always name some order in common;
- **disjoint**: each sender keeps to its own quarter of the orders, so transactions
  of different senders never name the same order.

While each run lasts, ``pg_stat_activity`` is sampled every 10 ms; the report gives the
mean number of the database's client backends in each state: running (``cpu``),
waiting for Rumbo (``client``: idle in a transaction, or between statements), waiting
for another transaction's row lock (``lock``), or for I/O. The gap between the two
shapes is what waiting on each other's locks costs. The runs alternate so that a
drifting machine moves both alike.

Usage::

    .venv/bin/python benchmarks/lock_waits.py --runs 2 --processes 2

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (a private schema, dropped after
each run); run it alone on the machine (it samples every backend of the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from ingest import Server, Target, make_batches

SENDERS = 4
BATCH = 500


def batches_for(codes: list[str], events: int, shape: str) -> list[list[bytes]]:
    """The bodies each sender posts, in order."""
    if shape == "shared":
        every = make_batches(codes, events, BATCH)
        return [every[k::SENDERS] for k in range(SENDERS)]
    quarter = len(codes) // SENDERS
    per_sender = []
    for k in range(SENDERS):
        bodies = make_batches(codes[k * quarter : (k + 1) * quarter], events // SENDERS, BATCH, k)
        # Event ids unique across senders: each sender numbers its own batches from 0.
        per_sender.append([b.replace(b'"bulk-', f'"bulk{k}-'.encode()) for b in bodies])
    return per_sender


class Sampler(threading.Thread):
    """Counts the database's client backends by what they wait on, every 10 ms."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            query = (
                "SELECT state, wait_event_type FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                " AND datname = current_database() AND state <> 'idle'"
            )
            while not self.done.is_set():
                for state, wait in conn.execute(query):
                    if wait == "Lock":
                        self.counts["lock"] += 1
                    elif wait == "Client" or state.startswith("idle in transaction"):
                        self.counts["client"] += 1
                    elif wait in ("IO", "LWLock"):
                        self.counts["io"] += 1
                    else:
                        self.counts["cpu"] += 1
                self.samples += 1
                time.sleep(0.01)

    def report(self) -> dict[str, float]:
        n = max(self.samples, 1)
        return {k: round(self.counts[k] / n, 2) for k in ("cpu", "client", "lock", "io")}


async def post_all(bases: list[str], key: str, per_sender: list[list[bytes]]) -> float:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def sender(base: str, bodies: list[bytes]) -> None:
        # A client (a connection) per sender: a sender's batches go to one process.
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for body in bodies:
                response = await client.post("/api/v1/events", content=body, headers=headers)
                if response.status_code != 200 or response.json()["accepted"] != BATCH:
                    raise RuntimeError(f"batch not stored: {response.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(
        *(sender(bases[k % len(bases)], bodies) for k, bodies in enumerate(per_sender))
    )
    return time.perf_counter() - start


def run(shape: str, events: int, orders: int, processes: int) -> dict[str, Any]:
    target = Target("postgresql", Path(tempfile.mkdtemp(prefix="rumbo-locks-")), orders)
    # One single-process server per API process, each sender kept to one of them as a
    # load balancer spreading connections would: with one server of N workers, the
    # kernel hands the 4 senders' connections to the workers unevenly (two or three
    # on one process), and that, not the code, decided a run.
    servers: list[Server] = []
    try:
        servers.extend(Server(target.url, workers=1) for _ in range(processes))
        per_sender = batches_for(target.codes, events, shape)
        sampler = Sampler(target.admin_url.replace("postgresql+psycopg://", "postgresql://"))
        sampler.start()
        bases = [server.base for server in servers]
        elapsed = asyncio.run(post_all(bases, target.api_key, per_sender))
        sampler.done.set()
        sampler.join()
        stored = sum(len(orjson.loads(b)) for bodies in per_sender for b in bodies)
        return {
            "shape": shape,
            "events_per_s": round(stored / elapsed),
            "backends": sampler.report(),
            "load_average": Path("/proc/loadavg").read_text().split()[0],
        }
    finally:
        for server in servers:
            server.stop()
        target.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40000)
    parser.add_argument("--orders", type=int, default=8000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.runs):
        for shape in ("shared", "disjoint"):
            result = run(shape, args.events, args.orders, args.processes)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
