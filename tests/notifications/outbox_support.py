"""Helpers for the outbox and worker tests: orders and events through the API, one worker run."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.models import OutboxMessage
from rumbo.notifications.tasks import Notifier
from tests.conftest import Tenant
from tests.factories import event_body, order_body


def new_order(client: TestClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json=order_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def push(
    client: TestClient, tenant: Tenant, order: dict[str, Any], status: str, at: str, **extra: Any
) -> dict[str, Any]:
    body = event_body(order, status=status, occurred_at=at, **extra)
    response = client.post("/api/v1/events", json=body, headers=tenant.headers)
    assert response.status_code in (200, 201), response.text
    return body


def rows(db: Database, order_id: int | None = None) -> list[OutboxMessage]:
    with db.session(write=False) as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if order_id is not None:
            stmt = stmt.where(OutboxMessage.order_id == order_id)
        return list(session.scalars(stmt))


def summary(db: Database, order_id: int | None = None) -> list[tuple[str, str, str, str | None]]:
    return [(r.kind, r.channel, r.status, r.suppressed_reason) for r in rows(db, order_id)]


def run_worker(
    settings: Settings, db: Database, clock: FixedClock, *, name: str = "w1", **kwargs: Any
) -> int:
    """One batch of one worker, in its own event loop; returns how many messages it claimed."""

    async def once() -> int:
        notifier = Notifier(settings, db, clock=clock, name=name, **kwargs)
        try:
            return await notifier.run_once()
        finally:
            await notifier.aclose()

    return asyncio.run(once())
