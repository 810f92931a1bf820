"""Migration 0010: the orders' JSON documents become jsonb on PostgreSQL and back, intact."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text, update

from rumbo.config import Settings, normalize_database_url
from rumbo.db import Database
from rumbo.merchants.service import create_merchant
from rumbo.migrations import alembic_config, upgrade
from rumbo.models import Order
from rumbo.orders.schemas import OrderCreate
from rumbo.orders.service import create_order
from tests.factories import order_body

ATTRIBUTES = {"seller_ids": ["seller-ñ-1", "seller-2"], "carrier": "jadlog", "freight": 14.92}


@pytest.fixture(params=["sqlite", "postgresql"])
def private_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own: this test moves the schema down and up again."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rumbo.db'}"
        upgrade(url)
        yield url
        return
    base = os.environ.get("RUMBO_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL tests need RUMBO_TEST_POSTGRES_URL")
    base = normalize_database_url(base)
    schema = f"rumbo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _documents(db: Database) -> list[tuple[Any, ...]]:
    with db.session(write=False) as session:
        rows = session.execute(
            select(
                Order.destination,
                Order.origin,
                Order.attributes,
                Order.destination["state"].as_string(),
                Order.attributes[("seller_ids", 0)].as_string(),
            ).order_by(Order.id)
        )
        return [tuple(row) for row in rows]


def test_documents_survive_the_conversion_both_ways(private_url: str) -> None:
    db = Database(Settings(database_url=private_url, env="test", secret_key="test"))
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with db.session() as session:
        merchant = create_merchant(session, "Loja", now)
        body = order_body(
            origin={
                "city": "Goiânia",
                "state": "GO",
                "country": "BR",
                "line1": 'Rua "A", 1 — galpão',
            }
        )
        order, _ = create_order(
            session, merchant.merchant_id, OrderCreate.model_validate(body), now
        )
        create_order(session, merchant.merchant_id, OrderCreate.model_validate(order_body()), now)
        session.execute(update(Order).where(Order.id == order.id).values(attributes=ATTRIBUTES))
    before = _documents(db)
    assert before[0][2] == ATTRIBUTES
    assert before[0][3:] == ("SP", "seller-ñ-1")
    assert before[1][1] is None
    assert before[1][4] is None

    config = alembic_config(private_url)
    command.downgrade(config, "0010-1")
    assert _documents(db) == before
    command.upgrade(config, "heads")
    assert _documents(db) == before

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            types = conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = 'orders'"
                    " AND column_name IN ('destination', 'origin', 'attributes')"
                )
            ).all()
        assert dict(types) == dict.fromkeys(("destination", "origin", "attributes"), "jsonb")
    db.dispose()
