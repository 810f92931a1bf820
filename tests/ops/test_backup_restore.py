"""Backup and restore as docs/operations.md tells them, on real databases.

SQLite: ``VACUUM INTO`` while the server keeps writing (https://sqlite.org/lang_vacuum.html#vacuuminto:
a transactionally consistent copy); PostgreSQL: ``pg_dump -Fc`` and ``pg_restore``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from rumbo.app import create_app
from rumbo.config import Settings
from rumbo.kit.clock import FixedClock
from rumbo.migrations import upgrade
from tests.conftest import IN_CI, _postgres_base_url, make_tenant
from tests.factories import event_body, order_body


def _fill(client: TestClient, headers: dict[str, str], orders: int) -> list[str]:
    codes = []
    for _ in range(orders):
        order = client.post("/api/v1/orders", json=order_body(), headers=headers).json()
        client.post("/api/v1/events", json=event_body(order), headers=headers)
        codes.append(order["tracking_code"])
    return codes


def test_sqlite_backup_with_vacuum_into_while_writing_then_restore(
    tmp_path: Path, clock: FixedClock
) -> None:
    live = tmp_path / "rumbo.db"
    upgrade(f"sqlite:///{live}")
    settings = Settings(database_url=f"sqlite:///{live}", env="test", secret_key="s")
    app = create_app(settings, clock=clock)
    backup = tmp_path / "backup" / "rumbo-2026-11-23.db"
    backup.parent.mkdir()
    with TestClient(app) as client:
        tenant = make_tenant(app.state.db, "Loja Aurora")
        codes = _fill(client, tenant.headers, 20)
        stop = threading.Event()

        def keep_writing() -> None:
            while not stop.is_set():
                _fill(client, tenant.headers, 1)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            with sqlite3.connect(live) as conn:
                conn.execute("VACUUM INTO ?", (str(backup),))
        finally:
            stop.set()
            writer.join()
        live_orders = client.get("/api/v1/orders?limit=200", headers=tenant.headers).json()

    with sqlite3.connect(backup) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        saved = copy.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert 20 <= saved <= len(live_orders["items"])

    restored = tmp_path / "restored.db"
    shutil.copy(backup, restored)
    upgrade(f"sqlite:///{restored}")  # already at head: a no-op, as after any restore
    again = create_app(settings.model_copy(update={"database_url": f"sqlite:///{restored}"}))
    with TestClient(again) as client:
        for code in codes:
            tracking = client.get(f"/api/v1/track/{code}")
            assert tracking.status_code == 200
            assert tracking.json()["status"] == "in_transit"
        # The restored store keeps working: its API key and writes.
        assert client.get("/api/v1/orders", headers=tenant.headers).status_code == 200
        assert _fill(client, tenant.headers, 1)


def _pg_tools() -> tuple[str, str]:
    dump, restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if not (dump and restore):
        if IN_CI:
            pytest.fail("CI=true but pg_dump / pg_restore are not on PATH")
        pytest.skip("pg_dump and pg_restore are not on PATH (apt install postgresql-client)")
    return dump, restore


def test_postgresql_backup_with_pg_dump_and_restore_with_pg_restore(
    tmp_path: Path, clock: FixedClock
) -> None:
    dump, restore = _pg_tools()
    base = _postgres_base_url()
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    source_db, target_db = (f"rumbo_bk_{uuid.uuid4().hex[:8]}" for _ in range(2))
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{source_db}"'))
        conn.execute(text(f'CREATE DATABASE "{target_db}"'))
    url = make_url(base)
    source, target = url.set(database=source_db), url.set(database=target_db)

    def libpq(u: URL) -> str:
        return u.set(drivername="postgresql").render_as_string(hide_password=False)

    try:
        upgrade(source.render_as_string(hide_password=False))
        settings = Settings(
            database_url=source.render_as_string(hide_password=False), env="test", secret_key="s"
        )
        app = create_app(settings, clock=clock)
        with TestClient(app) as client:
            tenant = make_tenant(app.state.db, "Loja Aurora")
            codes = _fill(client, tenant.headers, 10)
        archive = tmp_path / "rumbo.dump"
        subprocess.run([dump, "-Fc", "--no-owner", "-f", str(archive), libpq(source)], check=True)
        subprocess.run(
            [restore, "--no-owner", "--exit-on-error", "-d", libpq(target), str(archive)],
            check=True,
        )
        restored = settings.model_copy(
            update={"database_url": target.render_as_string(hide_password=False)}
        )
        upgrade(restored.database_url)
        again = create_app(restored)
        with TestClient(again) as client:
            for code in codes:
                assert client.get(f"/api/v1/track/{code}").json()["status"] == "in_transit"
            orders = client.get("/api/v1/orders?limit=100", headers=tenant.headers).json()
            assert len(orders["items"]) == 10
            assert _fill(client, tenant.headers, 1)  # sequences restored: new ids work
    finally:
        with admin.connect() as conn:
            for name in (source_db, target_db):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
