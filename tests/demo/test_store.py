"""The demo store sends realistic, messy traffic through the public API."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from rumbo.demo.store import DESCRIPTIONS, DemoStore, plan_order
from tests.conftest import NOW, Tenant


def test_plans_are_backdated_so_nothing_happens_in_the_future() -> None:
    rng = random.Random(1)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    for seq in range(200):
        plan = plan_order(rng, seq, now, real_now=0.0, speed=3600)
        events = [r.body for r in plan.releases if r.kind == "event"]
        assert events, plan.external_id
        assert all(datetime.fromisoformat(e["occurred_at"]) <= now for e in events)
        assert datetime.fromisoformat(plan.create["placed_at"]) < now


def test_plans_include_exceptions_duplicates_and_split_parcels() -> None:
    rng = random.Random(2)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    plans = [plan_order(rng, seq, now, 0.0, 3600) for seq in range(300)]
    statuses = {r.body.get("status") for p in plans for r in p.releases}
    assert {"delivery_failed", "exception", "cancelled", "delivered"} <= statuses
    assert any(
        len({r.body["event_id"] for r in p.releases if r.kind == "event"})
        < sum(r.kind == "event" for r in p.releases)
        for p in plans
    )
    assert any(sum(r.kind == "shipment" for r in p.releases) == 2 for p in plans)


def test_the_demo_store_feeds_the_api_and_orders_progress(
    client: TestClient, tenant: Tenant
) -> None:
    store = DemoStore(client, tenant.api_key, seed=3, orders_per_minute=0)
    store.seed_orders(12, NOW, real_now=0.0)
    store.tick(real_now=10**9)  # everything due
    assert store.sent_events > 40
    orders = client.get("/api/v1/orders", params={"limit": 50}, headers=tenant.headers).json()[
        "items"
    ]
    assert len(orders) == 12
    assert {o["status"] for o in orders} <= {"delivered", "cancelled"}
    assert any(o["shipments"] for o in orders)


def test_a_restarted_demo_continues_the_same_store(client: TestClient, tenant: Tenant) -> None:
    first = DemoStore(client, tenant.api_key, orders_per_minute=0, run_label="FIRST")
    first.seed_orders(6, NOW, real_now=0.0)
    # A second start: same seed, same store, the first start's orders already there.
    second = DemoStore(client, tenant.api_key, orders_per_minute=0, run_label="SECOND")
    second.seed_orders(6, NOW, real_now=0.0)
    second.tick(real_now=10**9)

    assert len(first.tracking_codes) == len(second.tracking_codes) == 6
    for code in second.tracking_codes:
        assert client.get(f"/api/v1/track/{code}").status_code == 200
        assert client.get(f"/t/{code}").status_code == 200
    orders = client.get("/api/v1/orders", params={"limit": 50}, headers=tenant.headers).json()
    assert len(orders["items"]) == 12
    second.orders_per_minute = 60.0
    second.tick(real_now=10**9 + 1, now=NOW)  # and it keeps placing orders
    assert len(second.tracking_codes) == 7


def test_every_start_has_its_own_run() -> None:
    client = TestClient.__new__(TestClient)
    assert DemoStore(client, "k").run_label != DemoStore(client, "k").run_label


def test_the_demo_writes_descriptions_in_the_stores_language() -> None:
    rng = random.Random(4)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    plans = [plan_order(rng, seq, now, 0.0, 3600) for seq in range(200)]
    for language in ("pt-BR", "es", "en"):
        # "Entregue à transportadora {carrier}": the words before the carrier's name.
        own = {text.split("{carrier}")[0] for text in DESCRIPTIONS[language].values()}
        ours = [p for p in plans if p.create["customer"]["locale"] == language]
        assert ours, language
        said = {
            r.body["description"]
            for p in ours
            for r in p.releases
            if r.kind == "event" and r.body.get("description")
        }
        assert said
        for text in said:
            assert any(text.startswith(start) for start in own), (language, text)
