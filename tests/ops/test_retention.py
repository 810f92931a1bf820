"""``rumbo prune``: old track points go, old raw payloads are blanked, events stay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from rumbo.cli import app as cli
from rumbo.config import Settings, get_settings
from rumbo.db import Database
from rumbo.kit.clock import SystemClock
from rumbo.models import DevicePosition, Event
from rumbo.ops.retention import parse_age, prune
from tests.conftest import NOW, Tenant
from tests.factories import event_body, order_body


def _seed(client: TestClient, tenant: Tenant, db: Database, ages_in_days: list[int]) -> None:
    """One event per age (received that many days before NOW) and a device track."""
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    client.post(
        "/api/v1/devices", json={"device_id": "moto-1", "name": "Moto"}, headers=tenant.headers
    )
    for n, days in enumerate(ages_in_days):
        body = event_body(order, event_id=f"age-{days}", description=f"raw {days}")
        assert client.post("/api/v1/events", json=body, headers=tenant.headers).status_code < 300
        with db.session() as session:
            session.execute(
                update(Event)
                .where(Event.event_id == f"age-{days}")
                .values(received_at=NOW - timedelta(days=days))
            )
        stamp = int((NOW - timedelta(days=days)).timestamp())
        fix = f"/osmand?id=moto-1&lat=-23.5{n}&lon=-46.6&timestamp={stamp}"
        assert client.post(fix).status_code == 200


def _state(db: Database) -> tuple[dict[str, str], int]:
    with db.session(write=False) as session:
        raws = {e.event_id: e.raw for e in session.scalars(select(Event))}
        positions = session.scalar(select(func.count()).select_from(DevicePosition)) or 0
    return raws, positions


def test_prune_blanks_old_payloads_keeps_events_and_drops_old_tracks(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    _seed(client, tenant, db, [400, 366, 100, 31, 2])
    raws_before, positions_before = _state(db)
    assert positions_before == 5

    counted = prune(
        db,
        NOW,
        positions_older_than=timedelta(days=30),
        payloads_older_than=timedelta(days=365),
        dry_run=True,
    )
    assert (counted.positions_deleted, counted.payloads_blanked) == (4, 2)
    assert _state(db) == (raws_before, positions_before)  # a dry run changes nothing

    done = prune(
        db, NOW, positions_older_than=timedelta(days=30), payloads_older_than=timedelta(days=365)
    )
    assert (done.positions_deleted, done.payloads_blanked) == (4, 2)
    raws, positions = _state(db)
    assert set(raws) == set(raws_before)  # every event is still there
    assert raws["age-400"] == raws["age-366"] == ""
    assert raws["age-100"] == raws_before["age-100"] != ""
    assert positions == 1
    again = prune(db, NOW, positions_older_than=None, payloads_older_than=timedelta(days=365))
    assert again.payloads_blanked == 0


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RUMBO_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_prune_command_reports_and_applies(
    client: TestClient, tenant: Tenant, db: Database, cli_env: None
) -> None:
    # The command uses the real clock: age the data relative to it.
    _seed(client, tenant, db, [])
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    client.post("/api/v1/events", json=event_body(order, event_id="old"), headers=tenant.headers)
    with db.session() as session:
        session.execute(update(Event).values(received_at=SystemClock().now() - timedelta(days=400)))
    runner = CliRunner()
    args = ["prune", "--positions-older-than", "30d", "--payloads-older-than", "365d"]
    dry = runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    raws = _state(db)[0]
    assert json.loads(dry.output)["payloads_blanked"] == len(raws) > 1
    assert raws["old"] != ""
    real = runner.invoke(cli, args)
    assert json.loads(real.output)["payloads_blanked"] == len(raws)
    assert set(_state(db)[0].values()) == {""}
    bad = runner.invoke(cli, ["prune", "--payloads-older-than", "a year"])
    assert bad.exit_code != 0
    assert "not an age" in bad.output
    assert runner.invoke(cli, ["prune"]).exit_code != 0


@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("365D", 365), ("2w", 14), ("36h", 1.5)])
def test_ages_are_read_in_days_weeks_or_hours(text: str, days: float) -> None:
    assert parse_age(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "30", "d", "-3d", "0h", "30 days", "1y"])
def test_anything_else_is_not_an_age(text: str) -> None:
    with pytest.raises(ValueError, match="age|hour"):
        parse_age(text)
