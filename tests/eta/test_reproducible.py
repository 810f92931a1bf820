"""The same history gives the same model and the same figures, whatever path it takes.

`rumbo import olist` + `rumbo eta train` + `rumbo eta evaluate` (orders read back from
the database, oldest first) and the Python path over the CSV files (file order, or any
other order) must agree to the byte: training is seeded, has no hidden random split,
and sorts what it learns from. A small window keeps it quick.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rumbo.cli import app
from rumbo.config import get_settings
from rumbo.eta.evaluation import evaluate
from rumbo.eta.model import EtaModel, train
from rumbo.eta.olist import read_olist

UNTIL = date(2017, 6, 1)
WINDOW = (date(2017, 6, 1), date(2017, 8, 1))


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    models = tmp_path / "models"
    monkeypatch.setenv("RUMBO_DATABASE_URL", database_url)
    monkeypatch.setenv("RUMBO_MODELS_DIR", str(models))
    get_settings.cache_clear()
    yield models
    get_settings.cache_clear()


def _without_version(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "model_version"}


def test_command_path_and_csv_path_give_identical_models_and_figures(
    shared_data: Path, cli_env: Path, tmp_path: Path
) -> None:
    folder = shared_data / "olist"
    runner = CliRunner()
    imported = runner.invoke(app, ["import", "olist", str(folder), "--create-merchant"])
    assert imported.exit_code == 0, imported.output
    trained = runner.invoke(app, ["eta", "train", "--until", UNTIL.isoformat()])
    assert trained.exit_code == 0, trained.output
    command_model = json.loads(trained.output.strip().splitlines()[-1])
    evaluated = runner.invoke(
        app,
        [
            "eta",
            "evaluate",
            "--from",
            WINDOW[0].isoformat(),
            "--to",
            WINDOW[1].isoformat(),
            "--json",
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    command_report = json.loads(evaluated.output)

    histories = list(read_olist(folder))
    shuffled = histories[:]
    random.Random(3).shuffle(shuffled)
    for n, order in enumerate((histories, shuffled, histories[::-1])):
        model = train(order, UNTIL)
        # A folder each: the same model saved twice in one second has the same name.
        saved = EtaModel.load(model.save(tmp_path / f"py{n}", make_current=False))
        # The model file itself: same bytes, whatever order the orders came in.
        assert saved.metadata["sha256"] == command_model["model_version"].rsplit("-", 1)[1]
        report = json.loads(evaluate(model, order, *WINDOW).to_json())
        assert _without_version(report) == _without_version(command_report)
    assert command_report["orders"] > 100
    assert command_report["undelivered"] >= 0


def test_backtest_command_walks_forward_and_refuses_bad_windows(
    shared_data: Path, cli_env: Path
) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            app, ["import", "olist", str(shared_data / "olist"), "--create-merchant"]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        app,
        [
            "eta",
            "backtest",
            "--from",
            "2017-05",
            "--to",
            "2017-08",
            "--horizon-months",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    windows = body["windows"]
    assert [(w["trained_until"], w["from_date"], w["to_date"]) for w in windows] == [
        ("2017-05-01", "2017-05-01", "2017-07-01"),
        ("2017-06-01", "2017-06-01", "2017-08-01"),
    ]
    for w in windows:
        for stage in w["stages"]:
            assert set(stage["baselines"]) == {
                "training_median",
                "last_100",
                "state_median",
                "stage_aware",
            }
            best = stage["best_baseline"]
            assert stage["baselines"][best]["mae_days"] == min(
                b["mae_days"] for b in stage["baselines"].values()
            )
    assert body["summary"]["windows"] == 2
    assert body["summary"]["counted"] == sum(1 for w in windows if w["orders"] >= 300)

    text = runner.invoke(
        app, ["eta", "backtest", "--from", "2017-05", "--to", "2017-07", "--horizon-months", "1"]
    )
    assert text.exit_code == 0, text.output
    assert "Goals met, of" in text.output

    for bad in (
        ["--from", "2017-13", "--to", "2017-08"],
        ["--from", "2017-05", "--to", "2017-06", "--horizon-months", "3"],
        ["--from", "2017-05", "--to", "2017-08", "--horizon-months", "0"],
    ):
        refused = runner.invoke(app, ["eta", "backtest", *bad])
        assert refused.exit_code == 2, (bad, refused.output)
