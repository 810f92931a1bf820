"""The route solver on the 56 Solomon VRPTW instances, against the best known results.

    nice .venv/bin/python benchmarks/routes_solomon.py ../shared/data/vrp/solomon \
        --seconds 10 --out benchmarks/routes.md

Every solution is verified by the independent checker with exact (unrounded)
Euclidean distances; the table ranks vehicles first, then distance, as the
published results do.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from rumbo.routes.checker import check
from rumbo.routes.solomon import read_best_known, read_instance
from rumbo.routes.solver import solve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", help="instance names (default: all)")
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    args = parser.parse_args()
    best = read_best_known(args.folder / "bks.csv")
    names = [name.upper() for name in args.only] if args.only else sorted(best)
    rows = []
    gaps: list[float] = []
    over = 0
    infeasible = 0
    for name in names:
        problem = read_instance(args.folder / f"{name}.txt")
        solved = solve(problem, seconds=args.seconds)
        verdict = check(problem, solved.solution)
        known = best[name]
        extra = verdict.vehicles - known.vehicles
        gap = 100 * (verdict.distance / known.distance - 1)
        if extra == 0:
            gaps.append(gap)
        over += extra > 1
        infeasible += not verdict.feasible
        rows.append(
            f"| {name} | {verdict.vehicles} | {known.vehicles} | {verdict.distance:.2f} "
            f"| {known.distance:.2f} | {gap:+.2f} % | {solved.seconds:.1f} "
            f"| {'yes' if verdict.feasible else 'NO'} |"
        )
        print(rows[-1], flush=True)
    summary = [
        f"- instances: {len(rows)}; infeasible: {infeasible}; vehicles > best + 1: {over}",
        f"- vehicles equal to the best known: {len(gaps)}; "
        f"mean distance gap there: {statistics.fmean(gaps) if gaps else float('nan'):.2f} %",
        f"- load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        if os.path.exists("/proc/loadavg")
        else "",
    ]
    print("\n".join(summary))
    if args.out:
        header = (
            "| instance | vehicles | best | distance | best | gap | seconds | checked |\n"
            "|---|---|---|---|---|---|---|---|\n"
        )
        args.out.write_text(header + "\n".join(rows) + "\n\n" + "\n".join(summary) + "\n")


if __name__ == "__main__":
    main()
