"""Fixtures shared by every test module.

Storage tests run against SQLite and PostgreSQL through one parametrised fixture.
PostgreSQL comes from ``RUMBO_TEST_POSTGRES_URL``; without it those tests skip with
a reason, except under ``CI=true`` where a missing or unreachable server fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import Session

from rumbo.app import create_app
from rumbo.config import Settings, normalize_database_url
from rumbo.db import Base, Database
from rumbo.kit.clock import FixedClock
from rumbo.merchants.service import create_merchant
from rumbo.migrations import upgrade
from rumbo.models import Order, Shipment

# Real data the tests read in place (never copied into the repository): ../shared/data
# beside the checkout, or wherever RUMBO_SHARED_DATA points.
SHARED_DATA = Path(
    os.environ.get("RUMBO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
IN_CI = os.environ.get("CI", "").lower() == "true"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; tests that need it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set RUMBO_SHARED_DATA)")
    return SHARED_DATA


def _postgres_base_url() -> str:
    url = os.environ.get("RUMBO_TEST_POSTGRES_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but RUMBO_TEST_POSTGRES_URL is not set")
        pytest.skip(
            "PostgreSQL tests need RUMBO_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return normalize_database_url(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "rumbo.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A private schema, migrated once for the session, dropped at the end."""
    base = _postgres_base_url()
    schema = f"rumbo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {base} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {base} is unreachable: {exc}")
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind, private to the test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "rumbo.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    return emptied(request.getfixturevalue("postgres_schema_url"))


def emptied(url: str) -> str:
    """``url``'s PostgreSQL schema with every table emptied (the schema is migrated once a
    session and shared: each test starts from empty tables)."""
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key="test-secret",
        base_url="http://rumbo.test",
        # The suite's webhook receivers listen on loopback.
        webhook_allowed_networks=LOOPBACK_NETWORKS,
    )


LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


@dataclass
class Tenant:
    merchant_id: int
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def make_tenant(db: Database, name: str) -> Tenant:
    with db.session() as session:
        created = create_merchant(session, name, NOW)
    return Tenant(created.merchant_id, created.api_key)


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "Loja Aurora")


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return make_tenant(db, "Tienda Sol")


def status_rows(session: Session, order_id: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What ingestion derives and stores for an order: its status columns, then each
    parcel's (what a recomputation from the stored events must reproduce)."""
    order = session.execute(
        select(
            Order.status,
            Order.status_at,
            Order.own_status,
            Order.own_status_tiebreak,
            Order.last_event_at,
            Order.shipments_total,
        ).where(Order.id == order_id)
    ).one()
    shipments = session.execute(
        select(Shipment.status, Shipment.status_at, Shipment.own_status_tiebreak)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.id)
    ).all()
    return (tuple(order), tuple(tuple(s) for s in shipments))


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """Every statement sent to the database (an executemany counts once) while open."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
