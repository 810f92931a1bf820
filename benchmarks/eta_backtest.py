"""Walk-forward backtest of the ETA model on the Olist files (or a generated history).

    nice .venv/bin/python benchmarks/eta_backtest.py olist ../shared/data/olist \
        --from 2017-03-01 --to 2018-09-01 --horizon-months 3

The same figures as `rumbo import olist` + `rumbo eta backtest --from 2017-03 --to
2018-09-01 --horizon-months 3` (tests/eta/test_reproducible.py proves the two paths
agree); reading the CSV files skips the database. `--params` takes TrainingParams
overrides as JSON, for ablations — never chosen on the windows that are reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from rumbo.eta.backtest import backtest, format_backtest
from rumbo.eta.history import OrderHistory, generate_history
from rumbo.eta.model import TrainingParams
from rumbo.eta.olist import read_olist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", choices=["olist", "synthetic"])
    parser.add_argument("where", help="Olist CSV folder, or number of synthetic orders")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--from", dest="from_date", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="to_date", type=date.fromisoformat, required=True)
    parser.add_argument("--horizon-months", type=int, default=3)
    parser.add_argument("--params", type=json.loads, default={})
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    histories: list[OrderHistory]
    if args.source == "olist":
        histories = list(read_olist(Path(args.where)))
    else:
        histories = generate_history(int(args.where), args.seed)
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in args.params.items()}
    params = replace(TrainingParams(), **overrides)
    started = time.perf_counter()
    result = backtest(histories, args.from_date, args.to_date, args.horizon_months, params=params)
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({**result.as_dict(), "seconds": round(elapsed, 1)}, indent=2))
    else:
        print(format_backtest(result))
        print(f"{len(result.windows)} windows in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
