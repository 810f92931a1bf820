from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rumbo.cli import app
from rumbo.config import get_settings
from rumbo.notifications.channels.push import VapidKey


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("RUMBO_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_migrate_then_create_merchant_prints_id_and_key(sqlite_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["merchant", "create", "Loja Aurora"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["merchant_id"] == 1
    assert data["api_key"].startswith("rk_")
    second = json.loads(runner.invoke(app, ["merchant", "create", "Tienda Sol"]).output)
    assert second["merchant_id"] == 2
    assert second["api_key"] != data["api_key"]


def test_demo_history_writes_a_generated_past_once(sqlite_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    first = runner.invoke(app, ["demo", "--history", "150"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output.strip().splitlines()[-1])
    assert summary["orders_created"] == 150
    assert summary["events_rejected"] == 0
    again = json.loads(
        runner.invoke(app, ["demo", "--history", "150"]).output.strip().splitlines()[-1]
    )
    assert (again["orders_created"], again["orders_existing"], again["events_accepted"]) == (
        0,
        150,
        0,
    )


def test_vapid_key_prints_a_usable_key_pair() -> None:
    result = CliRunner().invoke(app, ["vapid-key"])
    assert result.exit_code == 0, result.output
    keys = json.loads(result.output)
    assert VapidKey(keys["private_key"], "mailto:ops@example.com").public_key == keys["public_key"]
    assert len(keys["public_key"]) == 87  # 65 bytes, base64url without padding
