"""Group ingestion: concurrent requests share one ingest call yet each gets its own answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.events.service import NormalizedEvent
from rumbo.events.status import Status
from tests.conftest import Tenant
from tests.factories import carrier_event, order_body

_BASE = datetime(2026, 11, 21, tzinfo=UTC)


def _event(code: str, event_id: str, status: Status, hours: int) -> NormalizedEvent:
    return carrier_event(code, event_id, status, _BASE + timedelta(hours=hours))


def test_concurrent_requests_are_merged_and_answered_separately(
    app: FastAPI, client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = [
        client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
        for _ in range(3)
    ]
    theirs = client.post("/api/v1/orders", json=order_body(), headers=other_tenant.headers).json()
    writer = app.state.writer

    async def burst() -> list[Any]:
        jobs = [
            writer.submit(
                tenant.merchant_id, [(0, _event(o["tracking_code"], f"e-{n}", Status.SHIPPED, n))]
            )
            for n, o in enumerate(mine)
        ]
        # The same event id again, from another request: a duplicate of the first.
        jobs.append(
            writer.submit(
                tenant.merchant_id,
                [(5, _event(mine[0]["tracking_code"], "e-0", Status.SHIPPED, 0))],
            )
        )
        # Another merchant's request in the same group cannot see this merchant's orders.
        jobs.append(
            writer.submit(
                other_tenant.merchant_id,
                [(0, _event(mine[1]["tracking_code"], "x", Status.DELIVERED, 9))],
            )
        )
        jobs.append(
            writer.submit(
                other_tenant.merchant_id,
                [(0, _event(theirs["tracking_code"], "y", Status.DELIVERED, 9))],
            )
        )
        return await asyncio.gather(*jobs)

    outcomes = asyncio.run(burst())
    assert [o.results[0].outcome for o in outcomes] == ["accepted"] * 3 + [
        "duplicate",
        "rejected",
        "accepted",
    ]
    assert outcomes[3].results[0].index == 5
    assert outcomes[3].results[0].id == outcomes[0].results[0].id
    assert [o.results[0].order_id for o in outcomes[:3]] == [o["id"] for o in mine]
    assert [c.new for c in outcomes[0].changes] == [Status.SHIPPED]
    assert outcomes[4].changes == []
    got = client.get(f"/api/v1/orders/{mine[1]['id']}", headers=tenant.headers).json()
    assert got["status"] == "shipped"
