"""What the operations layer adds to every request, in-process (no network).

(a) ``OpsMiddleware`` (request id, security headers, two Prometheus samples, the
access-log check) around a minimal ASGI app, against the bare app; (b) one
``SlidingWindow.take`` on a hot key and over 100,000 distinct keys (a guesser
rotating addresses). Medians of ``--repeat`` runs, in microseconds per call.

    .venv/bin/python benchmarks/ops_overhead.py --calls 50000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from typing import Any

from rumbo.kit.ratelimit import SlidingWindow
from rumbo.ops.middleware import OpsMiddleware

SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "GET",
    "path": "/api/v1/track/7KQ29XWM4TCRH",
    "headers": [(b"host", b"rumbo.test"), (b"x-request-id", b"lb-1234")],
    "scheme": "http",
}


async def bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    return None


async def per_call(app: Any, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await app(dict(SCOPE), _receive, _send)
    return (time.perf_counter() - started) / calls * 1e6


def limiter(calls: int, keys: int) -> float:
    window = SlidingWindow(10**9, 60)
    names = [f"10.0.{i // 256}.{i % 256}" for i in range(keys)]
    started = time.perf_counter()
    for i in range(calls):
        window.take(names[i % keys])
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("rumbo.access").setLevel(logging.WARNING)  # as --no-access-log
    wrapped = OpsMiddleware(bare)
    runs: dict[str, list[float]] = {"bare_us": [], "with_ops_us": [], "hot_key_us": []}
    runs["100k_keys_us"] = []
    for _ in range(args.repeat):
        runs["bare_us"].append(asyncio.run(per_call(bare, args.calls)))
        runs["with_ops_us"].append(asyncio.run(per_call(wrapped, args.calls)))
        runs["hot_key_us"].append(limiter(args.calls, 1))
        runs["100k_keys_us"].append(limiter(max(args.calls, 200_000), 100_000))
    medians = {name: round(statistics.median(values), 2) for name, values in runs.items()}
    medians["middleware_cost_us"] = round(medians["with_ops_us"] - medians["bare_us"], 2)
    print(json.dumps(medians))


if __name__ == "__main__":
    main()
