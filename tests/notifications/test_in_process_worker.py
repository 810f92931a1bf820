"""``rumbo serve`` on SQLite runs the worker inside the server process."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.models import OutboxMessage
from tests.conftest import NOW, make_tenant

from .conftest import HttpServer, Reply, Responder
from .outbox_support import new_order, push, rows

StartHttp = Callable[[Responder], HttpServer]


def test_the_default_is_in_process_on_sqlite_only_outside_tests() -> None:
    assert Settings(database_url="sqlite:///x.db").worker_in_process
    assert not Settings(database_url="postgresql://db/rumbo").worker_in_process
    assert not Settings(database_url="sqlite:///x.db", env="test").worker_in_process
    forced = Settings(database_url="postgresql://db/x", run_worker_in_process=True)
    assert forced.worker_in_process


def test_the_server_delivers_webhooks_itself_and_stops_cleanly(
    settings: Settings, http_server: StartHttp
) -> None:
    if not settings.is_sqlite:
        pytest.skip("the in-process worker is the SQLite default")
    server = http_server(lambda request: Reply(204))
    app = create_app(
        settings.model_copy(update={"run_worker_in_process": True}), clock=FixedClock(NOW)
    )
    with TestClient(app) as client:
        db: Database = app.state.db
        tenant = make_tenant(db, "Loja")
        client.post("/api/v1/webhooks", json={"url": server.url}, headers=tenant.headers)
        order = new_order(client, tenant)
        push(client, tenant, order, "in_transit", "2026-11-23T08:00:00-03:00")
        with db.session() as session:  # the worker's clock is the real one: make it due
            session.execute(
                update(OutboxMessage).values(next_attempt_at=NOW - timedelta(days=3650))
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and [r.status for r in rows(db)] != ["sent"]:
            time.sleep(0.05)  # waiting for another task, not for time to pass
        assert [r.status for r in rows(db)] == ["sent"]
    assert len(server.requests) == 1
