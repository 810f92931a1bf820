"""Ingestion announces; it does not call its listeners. The reactions run in its
transaction, so an outbox row commits with its event or not at all."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rumbo.events import pipeline
from rumbo.reactions import announce_to_live_pages, write_outbox
from tests.conftest import Tenant
from tests.factories import event_body, order_body

EVENTS = Path(__file__).resolve().parents[2] / "src" / "rumbo" / "events"
LISTENERS = ("notifications", "web", "support", "assistant", "devices", "eta", "console")


def test_the_events_domain_imports_none_of_its_listeners() -> None:
    imported = set()
    for path in EVENTS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
    reaching = sorted(m for m in imported if m.split(".")[1:2] and m.split(".")[1] in LISTENERS)
    assert reaching == []


def test_every_entry_point_wires_the_same_reactions(client: TestClient) -> None:
    assert pipeline.subscribers()[:2] == (announce_to_live_pages, write_outbox)


def test_a_failing_reaction_rolls_the_events_back(client: TestClient, tenant: Tenant) -> None:
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    seen: list[pipeline.Ingested] = []

    def refuse(session: Session, news: pipeline.Ingested) -> None:
        seen.append(news)
        raise RuntimeError("a reaction failed")

    pipeline.subscribe(refuse)
    try:
        response = client.post(
            "/api/v1/events", json=event_body(order, status="shipped"), headers=tenant.headers
        )
    finally:
        pipeline._reactions.remove(refuse)
    assert response.status_code == 500
    assert seen[0].order_ids == [order["id"]]
    assert seen[0].changes[0].new.value == "shipped"
    timeline = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers).json()
    assert [e["status"] for e in timeline] == ["pending"]  # nothing of the failed batch
