"""Train the ETA model before a cutoff and evaluate it on the orders purchased after.

    .venv/bin/python benchmarks/eta_eval.py olist ../shared/data/olist \
        --until 2018-01-01 --from 2018-01-01 --to 2018-09-01
    .venv/bin/python benchmarks/eta_eval.py synthetic 100000 --seed 7 \
        --until 2025-07-01 --from 2025-07-01 --to 2026-01-01

Prints timings and the side-by-side table (or JSON with --json). Tuning is done with
the same script on a validation window inside the training period (e.g. --until
2017-10-01 --from 2017-10-01 --to 2018-01-01 for the Olist sample), never on the
window that is then reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from rumbo.eta.evaluation import evaluate, format_report
from rumbo.eta.features import HistoryIndex, snapshots
from rumbo.eta.history import OrderHistory, generate_history
from rumbo.eta.model import TrainingParams, train
from rumbo.eta.olist import read_olist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", choices=["olist", "synthetic"])
    parser.add_argument("where", help="Olist CSV folder, or number of synthetic orders")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--until", type=date.fromisoformat, required=True)
    parser.add_argument("--from", dest="from_date", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="to_date", type=date.fromisoformat, required=True)
    parser.add_argument("--calibration-days", type=int, default=None)
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help='TrainingParams overrides as JSON, e.g. {"max_iter": 100}',
    )
    parser.add_argument("--save", type=Path, help="write the model under this directory")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    timings: dict[str, float] = {}
    t = time.perf_counter()
    histories: list[OrderHistory]
    if args.source == "olist":
        histories = list(read_olist(Path(args.where)))
        timings["read_s"] = time.perf_counter() - t
    else:
        histories = generate_history(int(args.where), args.seed)
        timings["generate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    index = HistoryIndex(histories)
    timings["index_s"] = time.perf_counter() - t

    params = TrainingParams()
    if args.calibration_days is not None:
        params = replace(params, calibration_days=args.calibration_days)
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in args.params.items()}
    params = replace(params, **overrides)
    t = time.perf_counter()
    # As `rumbo eta train` does: recent times from the training orders alone.
    model = train(histories, args.until, params=params)
    timings["train_s"] = time.perf_counter() - t
    if args.save:
        model.save(args.save)

    t = time.perf_counter()
    report = evaluate(model, histories, args.from_date, args.to_date, index=index)
    timings["evaluate_s"] = time.perf_counter() - t
    # Prediction cost alone: features + three quantile models, per snapshot, batched.
    rows = list(snapshots(histories[-2000:], index))
    t = time.perf_counter()
    model.predict_many(rows)
    timings["predict_ms_per_order_batched"] = 1000 * (time.perf_counter() - t) / max(len(rows), 1)
    t = time.perf_counter()
    for row in rows[:200]:
        model.predict(row)
    timings["predict_ms_single"] = 1000 * (time.perf_counter() - t) / max(min(len(rows), 200), 1)

    summary = {
        "orders": len(histories),
        "training_orders": model.metadata["orders"],
        "training_snapshots": model.metadata["snapshots"],
        "band_shifts": model.metadata["band_shifts"],
        "store_late_rate": model.metadata["store_late_rate"],
        "late_target": model.metadata["late_target"],
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    if args.json:
        print(json.dumps({"summary": summary, "report": json.loads(report.to_json())}, indent=2))
    else:
        print(json.dumps(summary))
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
