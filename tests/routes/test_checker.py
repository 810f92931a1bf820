"""The independent checker: it accepts the published solutions and refuses broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from rumbo.routes.checker import check
from rumbo.routes.problem import Problem, Solution
from rumbo.routes.solomon import (
    InstanceError,
    parse_instance,
    parse_solution,
    read_best_known,
    read_instance,
)


@pytest.fixture(scope="module")
def solomon(shared_data: Path) -> Path:
    return shared_data / "vrp" / "solomon"


def _reference_names(solomon: Path) -> list[str]:
    folder = solomon / "sintef_solutions"
    return sorted(p.stem.upper() for p in folder.glob("*.txt") if p.stem[-1].isdigit())


def test_every_reference_solution_is_feasible_at_its_published_length(solomon: Path) -> None:
    best = read_best_known(solomon / "bks.csv")
    names = _reference_names(solomon)
    assert len(names) >= 40
    for name in names:
        problem = read_instance(solomon / f"{name}.txt")
        reference = solomon / "sintef_solutions" / f"{name.lower()}.txt"
        solution = parse_solution(reference.read_text())
        verdict = check(problem, solution)
        assert verdict.feasible, (name, verdict.violations)
        if name in best:
            assert verdict.vehicles == best[name].vehicles, name
            assert verdict.distance == pytest.approx(best[name].distance, abs=0.01), name


@pytest.fixture(scope="module")
def c101(solomon: Path) -> tuple[Problem, Solution]:
    problem = read_instance(solomon / "C101.txt")
    solution = parse_solution((solomon / "sintef_solutions" / "c101.txt").read_text())
    return problem, solution


def test_a_dropped_stop_is_refused(c101: tuple[Problem, Solution]) -> None:
    problem, solution = c101
    routes = [list(r) for r in solution.routes]
    dropped = routes[0].pop()
    verdict = check(problem, Solution(routes))
    assert not verdict.feasible
    assert any(str(dropped) in v and "never visited" in v for v in verdict.violations)


def test_a_stop_visited_twice_is_refused(c101: tuple[Problem, Solution]) -> None:
    problem, solution = c101
    routes = [list(r) for r in solution.routes]
    routes[1].append(routes[0][0])
    assert any("visited 2 times" in v for v in check(problem, Solution(routes)).violations)


def test_a_late_arrival_is_refused(c101: tuple[Problem, Solution]) -> None:
    problem, solution = c101
    routes = [list(r) for r in solution.routes]
    routes[0].reverse()
    verdict = check(problem, Solution(routes))
    assert not verdict.feasible
    assert any("due" in v for v in verdict.violations)


def test_an_overloaded_vehicle_is_refused(c101: tuple[Problem, Solution]) -> None:
    problem, solution = c101
    merged = [stop for route in solution.routes for stop in route]
    verdict = check(problem, Solution([merged]))
    assert any("capacity" in v for v in verdict.violations)


def test_more_routes_than_vehicles_are_refused(c101: tuple[Problem, Solution]) -> None:
    problem, _ = c101
    one_each = [[stop] for stop in range(1, len(problem.stops))]
    assert any("routes for" in v for v in check(problem, Solution(one_each)).violations)


def test_malformed_instances_are_refused_with_a_reason() -> None:
    with pytest.raises(InstanceError, match="VEHICLE"):
        parse_instance("C101\nCUSTOMER\n0 1 1 0 0 10 0\n")
    with pytest.raises(InstanceError, match="out of order"):
        parse_instance(
            "X\nVEHICLE\nNUMBER CAPACITY\n2 10\nCUSTOMER\n0 0 0 0 0 100 0\n2 1 1 1 0 50 1\n"
        )
