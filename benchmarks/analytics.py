"""History import and analytics over a store-sized history, on SQLite and PostgreSQL.

A generated history of N orders (default 100,000, the size of the full Olist data
set) is imported through the same code as `rumbo import olist`, then each
analytics query is timed (median of three runs).

Usage::

    .venv/bin/python benchmarks/analytics.py                  # both databases, 100,000 orders
    .venv/bin/python benchmarks/analytics.py --db sqlite --orders 20000

PostgreSQL comes from ``RUMBO_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); a private schema is used and dropped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common import FreshDatabase

from rumbo.analytics import service
from rumbo.analytics.service import GroupBy
from rumbo.config import Settings
from rumbo.db import Database
from rumbo.eta.history import generate_history
from rumbo.eta.store import import_histories
from rumbo.merchants.service import create_merchant

ROOT = Path(__file__).resolve().parent


def timed(fn: Any, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return round(statistics.median(runs), 3)


def run(kind: str, orders: int) -> dict[str, Any]:
    fresh = FreshDatabase(kind, Path(tempfile.mkdtemp()))
    db = Database(Settings(database_url=fresh.url))
    now = datetime.now(UTC)
    with db.session() as session:
        merchant_id = create_merchant(session, "History", now).merchant_id
    histories = generate_history(orders, seed=7)
    start = time.perf_counter()
    summary = import_histories(db, merchant_id, histories, now)
    import_seconds = time.perf_counter() - start
    first = min(h.purchased_at for h in histories).date()
    last = max(h.purchased_at for h in histories).date()
    window = (first, date(last.year + 1, 1, 1))
    results: dict[str, Any] = {
        "database": kind,
        "orders": orders,
        "import_seconds": round(import_seconds, 1),
        "import_orders_per_s": round(orders / import_seconds),
        "events": summary.events_accepted,
    }

    def load() -> list[service.OrderTimes]:
        with db.session(write=False) as session:
            return service.order_times(session, merchant_id, *window)

    rows = load()
    results["order_times_s"] = timed(load)
    results["overview_s"] = timed(lambda: service.figures(load()))
    for by in GroupBy:
        results[f"overview_by_{by.value}_s"] = timed(lambda by=by: service.grouped(load(), by))
    results["bottlenecks_s"] = timed(lambda: service.bottlenecks(load()))
    results["on_time_weekly_s"] = timed(lambda: service.weekly_on_time(load()))
    results["orders_in_window"] = len(rows)
    db.dispose()
    fresh.drop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        result = run(kind, args.orders)
        result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        (out / f"analytics-{kind}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
