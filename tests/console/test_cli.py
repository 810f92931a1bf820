"""``rumbo staff create``: an account from the command line, password never echoed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from rumbo.cli import app
from rumbo.config import get_settings


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("RUMBO_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("RUMBO_STAFF_PASSWORD", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    assert runner.invoke(app, ["merchant", "create", "Loja Aurora"]).exit_code == 0
    yield path
    get_settings.cache_clear()


def _stored(path: Path) -> list[tuple[str, str, str, int]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT email, role, password_hash, merchant_id FROM staff_users ORDER BY id")
        ).all()
    engine.dispose()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def test_create_asks_for_the_password_twice(sqlite_env: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["staff", "create", "Ana@Aurora.example", "--role", "admin", "--name", "Ana"],
        input="a long secret phrase\na long secret phrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long secret phrase" not in result.output
    created = json.loads(result.output.strip().splitlines()[-1])
    assert created == {"staff_id": 1, "email": "ana@aurora.example", "role": "admin",
                       "merchant_id": 1}  # fmt: skip
    ((email, role, stored, merchant_id),) = _stored(sqlite_env)
    assert (email, role, merchant_id) == ("ana@aurora.example", "admin", 1)
    assert stored.startswith("$argon2id$")


def test_create_reads_the_password_from_stdin_or_the_environment(
    sqlite_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    piped = runner.invoke(
        app, ["staff", "create", "a@aurora.example", "--password-stdin"], input="piped password\n"
    )
    assert piped.exit_code == 0, piped.output
    monkeypatch.setenv("RUMBO_STAFF_PASSWORD", "from the environment")
    env = runner.invoke(app, ["staff", "create", "b@aurora.example", "--merchant", "1"])
    assert env.exit_code == 0, env.output
    assert [row[:2] for row in _stored(sqlite_env)] == [
        ("a@aurora.example", "agent"),
        ("b@aurora.example", "agent"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dup@aurora.example"], "already signs in"),
        (["x@aurora.example", "--role", "owner"], "A role is one of"),
        (["not-an-email"], "not an e-mail"),
        (["y@aurora.example", "--merchant", "99"], "No merchant"),
    ],
)
def test_create_refuses_bad_input_with_a_message(
    sqlite_env: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("RUMBO_STAFF_PASSWORD", "a long enough one")
    runner = CliRunner()
    assert runner.invoke(app, ["staff", "create", "dup@aurora.example"]).exit_code == 0
    result = runner.invoke(app, ["staff", "create", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert len(_stored(sqlite_env)) == 1


def test_a_short_password_is_refused(sqlite_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUMBO_STAFF_PASSWORD", "short")
    result = CliRunner().invoke(app, ["staff", "create", "s@aurora.example"])
    assert result.exit_code == 2
    assert "at least 10 characters" in result.output
    assert _stored(sqlite_env) == []
