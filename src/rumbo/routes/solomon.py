"""Solomon VRPTW instances, SINTEF solution files and the best-known results table.

Format: M. M. Solomon, "Algorithms for the vehicle routing and scheduling problems
with time window constraints", Operations Research 35(2), 1987; the text layout is
the one distributed by SINTEF (https://www.sintef.no/projectweb/top/vrptw/).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from rumbo.routes.problem import Problem, Solution, Stop


class InstanceError(ValueError):
    """The text is not a Solomon instance."""


def parse_instance(text: str, name: str | None = None) -> Problem:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InstanceError("empty instance")
    try:
        vehicle_at = next(i for i, line in enumerate(lines) if line.upper() == "VEHICLE")
        customer_at = next(i for i, line in enumerate(lines) if line.upper() == "CUSTOMER")
        vehicles, capacity = (int(v) for v in lines[vehicle_at + 2].split()[:2])
    except (StopIteration, ValueError, IndexError) as exc:
        raise InstanceError("missing VEHICLE or CUSTOMER section") from exc
    stops: list[Stop] = []
    for line in lines[customer_at + 1 :]:
        fields = line.split()
        if not fields[0].isdigit():
            continue  # the column header
        if len(fields) < 7:
            raise InstanceError(f"customer line has {len(fields)} fields, expected 7: {line!r}")
        number = int(fields[0])
        if number != len(stops):
            raise InstanceError(f"customer {number} out of order (expected {len(stops)})")
        x, y, demand, ready, due, service = (float(v) for v in fields[1:7])
        if ready > due:
            raise InstanceError(f"customer {number}: ready time after due date")
        stops.append(Stop(x, y, int(demand), ready, due, service))
    if len(stops) < 2:
        raise InstanceError("an instance needs a depot and at least one customer")
    if vehicles < 1 or capacity < 1:
        raise InstanceError("vehicle number and capacity must be positive")
    return Problem(name=name or lines[0], vehicles=vehicles, capacity=capacity, stops=tuple(stops))


def read_instance(path: Path) -> Problem:
    return parse_instance(path.read_text(), name=path.stem.upper())


_ROUTE = re.compile(r"^Route\s+\d+\s*:\s*(.*)$")


def parse_solution(text: str) -> Solution:
    routes = []
    for line in text.splitlines():
        match = _ROUTE.match(line.strip())
        if match:
            routes.append([int(v) for v in match.group(1).split()])
    return Solution(routes=routes)


@dataclass(frozen=True)
class BestKnown:
    vehicles: int
    distance: float
    checked: bool


def read_best_known(path: Path) -> dict[str, BestKnown]:
    with path.open(newline="") as handle:
        return {
            row["instance"].upper(): BestKnown(
                int(row["vehicles"]), float(row["distance"]), row["checked"] == "yes"
            )
            for row in csv.DictReader(handle)
        }
