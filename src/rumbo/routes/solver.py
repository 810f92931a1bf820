"""Vehicle routing with time windows and capacities on VROOM (through pyvroom).

VROOM works on integer times and costs, so travel times are scaled and rounded up
(a route feasible in the integers is feasible with the exact distances), costs are
scaled and rounded to nearest. Vehicles come first: each vehicle carries a fixed
cost far above any route length. Within the time budget the solver

1. builds a first answer with the whole fleet;
2. removes routes one at a time by guided ejection: the shortest route's stops are
   left out of a seeded search with one vehicle fewer, and every stop VROOM still
   cannot place gains priority for the next round, so the search evicts easier stops
   to make room for it (VROOM ranks solutions by priority served before cost);
3. spends the rest on distance at the fleet size reached: a deep search from
   scratch on both threads, then seeded searches whose ruin-and-recreate depth
   grows while time remains.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import vroom
from vroom.solution.solution import Solution as VroomSolution

from rumbo.routes.checker import check
from rumbo.routes.problem import Problem, Solution

TIME_SCALE = 1000
COST_SCALE = 1000
# Far above any total route cost, so one vehicle fewer always wins.
_VEHICLE_COST = 10**9
# VROOM's job priorities are integers in [0, 100].
_MAX_PRIORITY = 100
# Guided-ejection rounds a start gets to come within a few stops of fitting them all.
_ROUNDS_TO_GET_CLOSE = 3
# Ruin-and-recreate depths for the seeded distance searches, tried in turn: a deeper
# search escapes more local optima but takes longer to settle.
_POLISH_DEPTHS = (5, 10, 20, 30, 40, 60, 80, 100)
# A deep search from scratch: few starts (each gets the whole timeout on its thread).
_SCRATCH_SEARCHES = 2
_SCRATCH_DEPTH = 20


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
    *,
    searches: int,
    depth: int,
    seconds: float,
    threads: int,
    seeds: Sequence[Sequence[int]] = (),
    priority: Mapping[int, int] | None = None,
) -> Solution:
    """One VROOM search; with `seeds` it starts from those routes (one search, one thread)."""
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
    priorities = priority or {}
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
                priority=priorities.get(index, 0),
            )
        )
    # pyvroom's public solve() ties the number of starts to the depth (exploration
    # level); its binding's other overload sets them apart, which a time budget needs.
    result = VroomSolution(
        solver._solve(
            nb_searches=searches,
            depth=depth,
            nb_threads=threads,
            timeout=timedelta(seconds=max(seconds, 0.05)),
        )
    )
    routes: dict[int, list[int]] = {}
    for row in result.routes.itertuples():
        if row.type == "job":
            routes.setdefault(int(row.vehicle_id), []).append(int(row.id))
    assigned = {stop for route in routes.values() for stop in route}
    unassigned = [index for index in range(1, n) if index not in assigned]
    return Solution(routes=[routes[v] for v in sorted(routes)], unassigned=unassigned)


def _eject_until_all_fit(
    problem: Problem,
    start: Solution,
    left: Callable[[], float],
    threads: int,
) -> Solution | None:
    """Guided ejection from a partial solution: the same routes with every stop, or None.

    Each round starts from the last one's routes; the stops still left out gain
    priority, so VROOM evicts stops that fit more easily elsewhere to place them.
    """
    current = [route for route in start.routes if route]
    priority = dict.fromkeys(start.unassigned, 1)
    attempt = start
    # Rounds that succeed start a few stops short; a start that stays dozens short is
    # dropped early and its time left to the next start or to distance.
    hopeless = max(3, len(problem.stops) // 20)
    fewest = len(start.unassigned)
    rounds = 0
    while attempt.unassigned and left() > 0.1:
        if rounds >= _ROUNDS_TO_GET_CLOSE and fewest > hopeless:
            return None
        attempt = _run(
            problem,
            len(current),
            searches=1,
            depth=3,
            seconds=min(left(), 1.0),
            threads=threads,
            seeds=current,
            priority=priority,
        )
        rounds += 1
        fewest = min(fewest, len(attempt.unassigned))
        for stop in attempt.unassigned:
            priority[stop] = min(_MAX_PRIORITY, priority.get(stop, 0) + 1)
        current = [route for route in attempt.routes if route]
    return None if attempt.unassigned else attempt


def _countdown(until: float) -> Callable[[], float]:
    return lambda: until - time.monotonic()


def one_route_fewer(
    problem: Problem, routes: Sequence[Sequence[int]], seconds: float, threads: int = 2
) -> Solution | None:
    """The stops of `routes` on one route fewer, or None if none was found in `seconds`.

    Starts, in turn, each with a share of the time left: the best routes without the
    shortest one (half), a fresh construction on one vehicle fewer with the stops it
    could not place left out (a quarter), then the best routes without the second
    shortest.
    """
    ends = time.monotonic() + seconds
    ordered = sorted((list(route) for route in routes if route), key=len)
    fleet = len(ordered) - 1

    def dropped(index: int) -> Solution:
        return Solution(
            routes=ordered[:index] + ordered[index + 1 :], unassigned=list(ordered[index])
        )

    def fresh() -> Solution:
        return _run(
            problem,
            fleet,
            searches=12,
            depth=3,
            seconds=max(ends - time.monotonic(), 0.0) / 3,
            threads=threads,
        )

    # The shortest route's stops are the likeliest to fit elsewhere: half the time.
    starts: list[tuple[Callable[[], Solution], float]] = [(lambda: dropped(0), 0.5)]
    if fleet > 1:
        starts += [(fresh, 0.5), (lambda: dropped(1), 1.0)]
    else:
        starts += [(fresh, 1.0)]
    for start, share in starts:
        found = _eject_until_all_fit(
            problem,
            start(),
            _countdown(time.monotonic() + (ends - time.monotonic()) * share),
            threads,
        )
        if found is not None:
            return found
    return None


def solve(problem: Problem, seconds: float = 10.0, threads: int = 2) -> Solved:
    """The best solution found within about `seconds`: fewest vehicles, then shortest."""
    started = time.monotonic()
    # VROOM checks its timeout between local-search steps, which on long routes can take
    # a tenth of a second: a small reserve keeps the whole call within `seconds`.
    deadline = started + seconds * 0.97

    def left() -> float:
        return deadline - time.monotonic()

    best: Solution | None = None
    best_key = (math.inf, math.inf)
    attempts = 0

    def consider(solution: Solution | None) -> bool:
        nonlocal best, best_key, attempts
        attempts += 1
        if solution is None or solution.unassigned:
            return False
        verdict = check(problem, solution)
        if not verdict.feasible:
            return False
        key = (float(verdict.vehicles), verdict.distance)
        if key < best_key:
            best, best_key = solution, key
            return True
        return False

    # A first answer with the whole fleet gives an upper bound on vehicles.
    consider(
        _run(
            problem,
            problem.vehicles,
            searches=4,
            depth=5,
            seconds=seconds * 0.1,
            threads=threads,
        )
    )
    # Up to half the budget removes routes while every stop still fits.
    elimination_ends = started + seconds * 0.5
    while best is not None and best_key[0] > 1 and time.monotonic() < elimination_ends:
        fewer = one_route_fewer(problem, best.routes, elimination_ends - time.monotonic(), threads)
        if not consider(fewer):
            break
    if best is None:
        raise RuntimeError(f"no feasible solution found for {problem.name}")
    fleet = int(best_key[0])
    if left() > 1.0:
        consider(
            _run(
                problem,
                fleet,
                searches=_SCRATCH_SEARCHES,
                depth=_SCRATCH_DEPTH,
                seconds=left() * 0.4,
                threads=threads,
            )
        )
    for depth in _POLISH_DEPTHS:
        if left() < 0.2:
            break
        consider(
            _run(
                problem,
                fleet,
                searches=1,
                depth=depth,
                seconds=left(),
                threads=threads,
                seeds=best.routes,
            )
        )
    return Solved(
        solution=best,
        vehicles=int(best_key[0]),
        distance=best_key[1],
        seconds=time.monotonic() - started,
        attempts=attempts,
    )
