"""A mistake on the command line is one line on stderr, exit status 2, no traceback and
nothing written — one test per mistake a person makes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from rumbo.cli import app
from rumbo.config import get_settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite database and an empty models folder of its own."""
    monkeypatch.setenv("RUMBO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RUMBO_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    yield tmp_path
    get_settings.cache_clear()


def _merchants(tmp_path: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        names = [row[0] for row in conn.execute(text("SELECT name FROM merchants ORDER BY id"))]
    engine.dispose()
    return names


def one_line_error(result: Result, *fragments: str) -> str:
    """The mistake's line, after checking it is the only thing said and the exit is 2."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated store history and a model trained on its first year (built once)."""
    folder = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUMBO_DATABASE_URL", f"sqlite:///{folder / 'cli.db'}")
        patch.setenv("RUMBO_MODELS_DIR", str(folder / "models"))
        get_settings.cache_clear()
        assert runner.invoke(app, ["migrate"]).exit_code == 0
        assert runner.invoke(app, ["demo", "--history", "400"]).exit_code == 0
        trained = runner.invoke(
            app, ["eta", "train", "--until", "2025-01-01", "--merchant", "Demo History"]
        )
        assert trained.exit_code == 0, trained.output
    get_settings.cache_clear()
    return folder


@pytest.fixture
def trained(env: Path, trained_once: Path) -> Path:
    """``env`` holding a copy of the trained store and its models."""
    shutil.copy(trained_once / "cli.db", env / "cli.db")
    shutil.copytree(trained_once / "models", env / "models")
    return env


def test_training_for_a_merchant_never_imported_is_one_line(env: Path) -> None:
    one_line_error(
        runner.invoke(app, ["eta", "train", "--until", "2026-11-01"]), "no merchant named 'Olist'"
    )
    assert _merchants(env) == []


@pytest.mark.parametrize(
    "command",
    [
        ["eta", "train", "--until", "2026-11-01"],
        ["eta", "evaluate", "--from", "2026-01-01", "--to", "2026-02-01"],
        ["import", "olist", "{folder}"],
    ],
)
def test_an_unknown_merchant_is_refused_and_not_created(env: Path, command: list[str]) -> None:
    runner.invoke(app, ["merchant", "create", "Loja Aurora"])
    folder = env / "olist"
    folder.mkdir()
    (folder / "olist_orders_dataset.csv").write_text("order_id\n", encoding="utf-8")
    args = [a.format(folder=folder) for a in command] + ["--merchant", "Nope"]
    one_line_error(runner.invoke(app, args), "no merchant named 'Nope'", "Loja Aurora")
    assert _merchants(env) == ["Loja Aurora"]


@pytest.mark.parametrize(
    "command",
    [
        ["import", "events", "{file}", "--merchant-id", "99"],
        ["report", "--from", "2026-01-01", "--to", "2026-02-01", "--merchant", "99"],
        ["staff", "create", "a@aurora.example", "--merchant", "99"],
    ],
)
def test_an_unknown_merchant_id_is_refused(
    env: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUMBO_STAFF_PASSWORD", "a long enough one")
    file = env / "events.csv"
    file.write_text("event_id,source,status,occurred_at\n", encoding="utf-8")
    result = runner.invoke(app, [a.format(file=file) for a in command])
    assert "99" in one_line_error(result) or "No merchant" in one_line_error(result)
    assert _merchants(env) == []


def test_import_olist_creates_a_merchant_only_when_asked(env: Path) -> None:
    folder = env / "olist"
    folder.mkdir()
    one_line_error(runner.invoke(app, ["import", "olist", str(folder)]), "olist_orders_dataset")
    assert _merchants(env) == []


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["eta", "train", "--until", "2026-13-01"], "--until '2026-13-01'"),
        (["eta", "evaluate", "--from", "2026-01-32", "--to", "2026-02-01"], "--from"),
        (["eta", "evaluate", "--from", "2026-01-01", "--to", "soon"], "--to 'soon'"),
        (["report", "--from", "2026-02-30", "--to", "2026-03-01"], "--from '2026-02-30'"),
        (["prune", "--positions-older-than", "forever"], "--positions-older-than"),
    ],
)
def test_a_bad_date_names_its_option(env: Path, command: list[str], option: str) -> None:
    one_line_error(runner.invoke(app, command), option)


def test_evaluate_with_from_after_to_is_refused(trained: Path) -> None:
    args = ["--from", "2025-06-01", "--to", "2025-03-01", "--merchant", "Demo History"]
    one_line_error(runner.invoke(app, ["eta", "evaluate", *args]), "must be before")


def test_evaluate_on_a_window_without_orders_is_refused(trained: Path) -> None:
    args = ["--from", "2030-01-01", "--to", "2030-02-01", "--merchant", "Demo History"]
    one_line_error(runner.invoke(app, ["eta", "evaluate", *args]), "no delivered orders")
    args = ["--from", "2025-01-01", "--to", "2025-06-01", "--merchant", "Demo History"]
    real = runner.invoke(app, ["eta", "evaluate", *args, "--json"])
    assert real.exit_code == 0, real.output
    assert json.loads(real.stdout)["orders"] > 0


EVALUATE = ["eta", "evaluate", "--from", "2025-01-01", "--to", "2025-06-01"]


def test_evaluate_without_a_models_folder_is_one_line(trained: Path) -> None:
    for version in (trained / "models").iterdir():
        if version.is_dir():
            for f in version.iterdir():
                f.unlink()
            version.rmdir()
        else:
            version.unlink()
    (trained / "models").rmdir()
    args = [*EVALUATE, "--merchant", "Demo History"]
    one_line_error(runner.invoke(app, args), "no models folder", "rumbo eta train")


def test_evaluate_with_a_corrupt_metadata_file_is_one_line(trained: Path) -> None:
    models = trained / "models"
    current = (models / "CURRENT").read_text().strip()
    (models / current / "metadata.json").write_text("{not json", encoding="utf-8")
    args = [*EVALUATE, "--merchant", "Demo History"]
    one_line_error(runner.invoke(app, args), "unreadable", "rumbo eta train")


def test_evaluate_with_current_naming_a_missing_version_is_one_line(trained: Path) -> None:
    (trained / "models" / "CURRENT").write_text("20990101T000000Z-gone\n", encoding="utf-8")
    args = [*EVALUATE, "--merchant", "Demo History"]
    one_line_error(runner.invoke(app, args), "incomplete", "20990101T000000Z-gone")


def test_import_events_help_lists_the_columns_not_the_source_code(env: Path) -> None:
    result = runner.invoke(app, ["import", "events", "--help"])
    assert result.exit_code == 0
    for column in ("event_id", "source", "tracking_code", "external_id", "occurred_at"):
        assert column in result.output
    assert "docs/importing-events.md" in result.output
    assert "rumbo.carriers" not in result.output
