"""An independent check of a routing solution: exact float distances, every rule spelt out.

It shares nothing with the solver but the problem data, so a solver bug (rounding,
a dropped stop) cannot hide behind itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rumbo.routes.problem import Problem, Solution

# Arrival times are sums of square roots; allow for float noise only.
_EPSILON = 1e-6


@dataclass
class Verdict:
    feasible: bool
    vehicles: int
    distance: float
    violations: list[str] = field(default_factory=list)


def check(problem: Problem, solution: Solution) -> Verdict:
    """Every customer once, load within capacity, service started by each due time, home in time."""
    violations: list[str] = []
    customers = range(1, len(problem.stops))
    seen = Counter(stop for route in solution.routes for stop in route)
    for stop, count in seen.items():
        if stop not in customers:
            violations.append(f"stop {stop} is not a customer")
        elif count > 1:
            violations.append(f"customer {stop} visited {count} times")
    missing = [stop for stop in customers if stop not in seen]
    if missing:
        violations.append(f"customers never visited: {missing}")
    used = [route for route in solution.routes if route]
    if len(used) > problem.vehicles:
        violations.append(f"{len(used)} routes for {problem.vehicles} vehicles")
    total = 0.0
    depot = problem.stops[0]
    for number, route in enumerate(used, start=1):
        if any(stop not in customers for stop in route):
            continue
        load = sum(problem.stops[stop].demand for stop in route)
        if load > problem.capacity:
            violations.append(f"route {number}: load {load} > capacity {problem.capacity}")
        clock, here = depot.ready, 0
        for stop in [*route, 0]:
            leg = problem.distance(here, stop)
            total += leg
            arrival = clock + leg
            target = problem.stops[stop]
            if arrival > target.due + _EPSILON:
                violations.append(
                    f"route {number}: reaches {stop} at {arrival:.2f}, due {target.due:g}"
                )
            clock = max(arrival, target.ready) + target.service
            here = stop
    return Verdict(not violations, len(used), total, violations)
