"""The solver on real Solomon instances, judged by the independent checker."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rumbo.cli import app
from rumbo.routes.checker import check
from rumbo.routes.solomon import read_best_known, read_instance
from rumbo.routes.solver import solve


def test_clustered_instance_reaches_the_best_known_result(shared_data: Path) -> None:
    folder = shared_data / "vrp" / "solomon"
    problem = read_instance(folder / "C101.txt")
    solved = solve(problem, seconds=3)
    verdict = check(problem, solved.solution)
    assert verdict.feasible, verdict.violations
    best = read_best_known(folder / "bks.csv")["C101"]
    assert verdict.vehicles == best.vehicles
    assert verdict.distance <= best.distance * 1.01


def test_every_stop_is_served_on_a_random_instance(shared_data: Path) -> None:
    problem = read_instance(shared_data / "vrp" / "solomon" / "R101.txt")
    solved = solve(problem, seconds=2)
    served = sorted(stop for route in solved.solution.routes for stop in route)
    assert served == list(range(1, 101))
    assert check(problem, solved.solution).feasible


def test_cli_prints_vehicles_distance_and_routes_as_json(shared_data: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["routes", "solve", str(shared_data / "vrp/solomon/C201.txt"), "--seconds", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["feasible"] is True
    assert data["vehicles"] == 3
    assert sorted(s for r in data["routes"] for s in r) == list(range(1, 101))


def test_cli_refuses_a_file_that_is_not_an_instance(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not an instance\n")
    result = CliRunner().invoke(app, ["routes", "solve", str(bad)])
    assert result.exit_code == 2
