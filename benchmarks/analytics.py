"""Analytics over a store-sized history, on SQLite and PostgreSQL.

A generated history of N orders (default 100,000, the size of the full Olist data
set) is imported through the same code as `rumbo import olist` / `rumbo demo
--history`, then every analytics endpoint is called over HTTP (in-process ASGI
client: routing, auth, query, figures and JSON included) for the whole history
and for one quarter, and the standalone report is built and rendered; each is timed
as the median of ``--repeat`` runs. The target is < 2 s for each.

Usage::

    .venv/bin/python benchmarks/analytics.py                  # both databases, 100,000 orders
    .venv/bin/python benchmarks/analytics.py --db sqlite --orders 20000

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); a private schema is used and dropped.
After the import the tables are ANALYZEd, as autovacuum would do on a live server,
so the planner knows their size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common import FreshDatabase
from fastapi.testclient import TestClient
from sqlalchemy import text

from rumbo.analytics.report import build_report, render_standalone
from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.eta.history import generate_history
from rumbo.eta.store import import_histories
from rumbo.merchants.service import create_merchant

ROOT = Path(__file__).resolve().parent
TARGET_S = 2.0


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall-clock seconds, and median CPU seconds of this process (on SQLite that
    is nearly all the work; it is what a shared, busy machine inflates least)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return round(statistics.median(wall), 3), round(statistics.median(cpu), 3)


def run(kind: str, orders: int, repeat: int) -> dict[str, Any]:
    fresh = FreshDatabase(kind, Path(tempfile.mkdtemp()))
    try:
        return measure(fresh, kind, orders, repeat)
    finally:
        fresh.drop()


def measure(fresh: FreshDatabase, kind: str, orders: int, repeat: int) -> dict[str, Any]:
    app = create_app(Settings(database_url=fresh.url, env="test", secret_key="bench"))
    db = app.state.db
    now = datetime.now(UTC)
    with db.session() as session:
        created = create_merchant(session, "History", now)
    histories = generate_history(orders, seed=7)
    start = time.perf_counter()
    summary = import_histories(db, created.merchant_id, histories, now)
    import_seconds = time.perf_counter() - start
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    first = min(h.purchased_at for h in histories).date()
    last = max(h.purchased_at for h in histories).date()
    results: dict[str, Any] = {
        "database": kind,
        "orders": orders,
        "import_seconds": round(import_seconds, 1),
        "events": summary.events_accepted,
        "repeat": repeat,
    }
    windows = {
        "all": (first, date(last.year + 1, 1, 1)),
        "quarter": (date(last.year, 1, 1), date(last.year, 4, 1)),
    }
    calls = [
        ("overview", {}),
        ("overview", {"group_by": "seller"}),
        ("overview", {"group_by": "lane"}),
        ("bottlenecks", {}),
        ("on-time", {"group_by": "carrier"}),
        ("stages", {"group_by": "destination_state"}),
        ("lanes", {}),
    ]
    headers = {"Authorization": f"Bearer {created.api_key}"}
    with TestClient(app) as client:
        for label, (lo, hi) in windows.items():
            for path, extra in calls:
                params = {"from": lo.isoformat(), "to": hi.isoformat(), **extra}

                def call(path: str = path, params: dict[str, str] = params) -> None:
                    response = client.get(
                        f"/api/v1/analytics/{path}", params=params, headers=headers
                    )
                    response.raise_for_status()

                name = "_".join([path.replace("-", "_"), *extra.values(), label])
                results[f"{name}_s"], results[f"{name}_cpu_s"] = timed(call, repeat)

            def report(lo: date = lo, hi: date = hi) -> None:
                with db.session(write=False) as session:
                    built = build_report(session, created.merchant_id, lo, hi, now)
                render_standalone(built)

            results[f"report_{label}_s"], results[f"report_{label}_cpu_s"] = timed(report, repeat)
    timings = {k: v for k, v in results.items() if k.endswith("_s") and not k.endswith("_cpu_s")}
    results["slowest"] = max(timings, key=lambda k: timings[k])
    results["all_under_target"] = all(v < TARGET_S for v in timings.values())
    app.state.db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        result = run(kind, args.orders, args.repeat)
        result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["load_average"] = os.getloadavg()
        (out / f"analytics-{kind}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
