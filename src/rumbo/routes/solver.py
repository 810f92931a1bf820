"""Vehicle routing with time windows and capacities on VROOM (through pyvroom).

VROOM works on integer times and costs, so travel times are scaled and rounded up
(a route feasible in the integers is feasible with the exact distances), costs are
scaled and rounded to nearest. Vehicles come first: each vehicle carries a fixed
cost far above any route length, then a fleet-minimisation pass asks for the same
work with one vehicle fewer until some stop is left out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta

import vroom

from rumbo.routes.checker import check
from rumbo.routes.problem import Problem, Solution

TIME_SCALE = 1000
COST_SCALE = 1000
# Far above any total route cost, so one vehicle fewer always wins.
_VEHICLE_COST = 10**9


@dataclass(frozen=True)
class Attempt:
    vehicles: int
    exploration: int


@dataclass
class Solved:
    solution: Solution
    vehicles: int
    distance: float
    seconds: float
    attempts: int


def _run(
    problem: Problem,
    fleet: int,
    exploration: int,
    seconds: float,
    threads: int,
    start_from: Solution | None = None,
) -> Solution:
    matrix = problem.matrix()
    n = len(problem.stops)
    durations = [[math.ceil(matrix[a][b] * TIME_SCALE) for b in range(n)] for a in range(n)]
    costs = [[round(matrix[a][b] * COST_SCALE) for b in range(n)] for a in range(n)]
    solver = vroom.Input()
    solver.set_durations_matrix(profile="car", matrix_input=durations)
    solver.set_costs_matrix(profile="car", matrix_input=costs)
    depot = problem.stops[0]
    horizon = vroom.TimeWindow(
        math.ceil(depot.ready * TIME_SCALE), math.floor(depot.due * TIME_SCALE)
    )
    # Seeding with known routes skips the construction phase, the slow part on long routes.
    seeds = list(start_from.routes) if start_from is not None else []
    for vehicle in range(fleet):
        seed = seeds[vehicle] if vehicle < len(seeds) else []
        steps = (
            [
                vroom.VehicleStepStart(),
                *(vroom.VehicleStepSingle(stop) for stop in seed),
                vroom.VehicleStepEnd(),
            ]
            if seed
            else []
        )
        solver.add_vehicle(
            vroom.Vehicle(
                id=vehicle,
                start=0,
                end=0,
                capacity=[problem.capacity],
                time_window=horizon,
                costs=vroom.VehicleCosts(fixed=_VEHICLE_COST),
                steps=steps,
            )
        )
    for index in range(1, n):
        stop = problem.stops[index]
        solver.add_job(
            vroom.Job(
                id=index,
                location=index,
                default_service=round(stop.service * TIME_SCALE),
                delivery=vroom.Amount([stop.demand]),
                time_windows=[
                    vroom.TimeWindow(
                        math.ceil(stop.ready * TIME_SCALE), math.floor(stop.due * TIME_SCALE)
                    )
                ],
            )
        )
    result = solver.solve(
        exploration_level=exploration,
        nb_threads=threads,
        timeout=timedelta(seconds=max(seconds, 0.05)),
    )
    routes: dict[int, list[int]] = {}
    unassigned: list[int] = []
    for row in result.routes.itertuples():
        if row.type == "job":
            routes.setdefault(int(row.vehicle_id), []).append(int(row.id))
    assigned = {stop for route in routes.values() for stop in route}
    unassigned = [index for index in range(1, n) if index not in assigned]
    return Solution(routes=[routes[v] for v in sorted(routes)], unassigned=unassigned)


def solve(problem: Problem, seconds: float = 10.0, threads: int = 2) -> Solved:
    """The best solution found within about `seconds`: fewest vehicles, then shortest."""
    started = time.monotonic()
    deadline = started + seconds

    def left() -> float:
        return deadline - time.monotonic()

    best: Solution | None = None
    best_key = (math.inf, math.inf)
    attempts = 0

    def consider(solution: Solution) -> bool:
        nonlocal best, best_key
        if solution.unassigned:
            return False
        verdict = check(problem, solution)
        if not verdict.feasible:
            return False
        key = (float(verdict.vehicles), verdict.distance)
        if key < best_key:
            best, best_key = solution, key
        return True

    # A cheap first answer with the whole fleet gives an upper bound on vehicles.
    attempts += 1
    consider(_run(problem, problem.vehicles, 1, left() * 0.15, threads))
    # Fewer vehicles while every stop still fits: a small fleet also searches faster.
    while best is not None and best_key[0] > 1 and left() > 1.0:
        attempts += 1
        if not consider(_run(problem, int(best_key[0]) - 1, 2, left() * 0.25, threads)):
            break
    # The rest of the time polishes distance at the fleet size reached.
    for exploration in (5, 4, 3):
        if best is None or left() < 0.5:
            break
        attempts += 1
        consider(_run(problem, int(best_key[0]), exploration, left() * 0.9, threads))
    if best is None:
        raise RuntimeError(f"no feasible solution found for {problem.name}")
    return Solved(
        solution=best,
        vehicles=int(best_key[0]),
        distance=best_key[1],
        seconds=time.monotonic() - started,
        attempts=attempts,
    )
