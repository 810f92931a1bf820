"""A recorded month replayed: the statuses a store's real history leads to, pinned.

The real orders of November 2017 (Black Friday) from the Olist history in
``shared/data/olist``, with the milestones each recorded (paid, handed to the carrier,
delivered, cancelled), are stored twice on one database:

- as the importer stores a history: in order, a chunk of orders per transaction;
- over the API, as a busy day delivers them: shuffled, a third of them sent twice,
  in requests of 1 to 60 events.

Every order must end in the same state both ways, the same as a recomputation from
all its stored events, and the same on SQLite and PostgreSQL; and the statuses of the
month are pinned by a digest, so that a change to ingestion that moves any order's
status or status time on the same inputs fails here and has to say why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from rumbo.db import Database
from rumbo.eta.days import history_zone
from rumbo.eta.history import OrderHistory
from rumbo.eta.olist import read_olist
from rumbo.eta.store import history_events, import_histories
from rumbo.events.service import rederive
from rumbo.events.status import Status
from rumbo.models import Order
from tests.conftest import NOW, Tenant, make_tenant

# sha256 of "external_id status status_at" per order, sorted by external id. Change it
# only with a change to the status rules that explains, order by order, what moved.
MONTH_DIGEST = "53dcf2c5d29ce0df9e15e3d39ffe5cfd587943fa75cba06a7029e55af060a145"


def _month(shared_data: Path) -> list[OrderHistory]:
    return [
        h
        for h in read_olist(shared_data / "olist")
        if h.purchased_at.year == 2017 and h.purchased_at.month == 11
    ]


def _states(db: Database, merchant_id: int) -> dict[str, tuple[Any, ...]]:
    with db.session(write=False) as session:
        rows = session.execute(
            select(
                Order.external_id,
                Order.status,
                Order.status_at,
                Order.own_status,
                Order.last_event_at,
                Order.shipments_total,
            ).where(Order.merchant_id == merchant_id)
        )
        return {row.external_id: tuple(row[1:]) for row in rows}


def _digest(states: dict[str, tuple[Any, ...]]) -> str:
    lines = [
        f"{external_id} {state[0]} {state[1].isoformat() if state[1] else '-'}"
        for external_id, state in sorted(states.items())
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_a_recorded_month_ends_in_the_same_states_however_it_arrives(
    client: TestClient, db: Database, tenant: Tenant, shared_data: Path
) -> None:
    month = _month(shared_data)
    assert len(month) > 300

    # In order: the importer's path.
    import_histories(db, tenant.merchant_id, month, NOW)
    imported = _states(db, tenant.merchant_id)

    # Over the API, as a busy day delivers them: the same orders, created bare, then
    # their milestones shuffled, a third repeated, in requests of 1 to 60.
    replayed = make_tenant(db, "Loja Réplica")
    bare = [
        dataclasses.replace(
            h, approved_at=None, shipped_at=None, delivered_at=None, status=Status.PENDING
        )
        for h in month
    ]
    import_histories(db, replayed.merchant_id, bare, NOW)
    zone = history_zone("BR")
    bodies = [
        {
            "source": event.source,
            "event_id": event.event_id,
            "external_id": event.external_id,
            "status": event.status.value if event.status else None,
            "occurred_at": event.occurred_at.isoformat(),
            "description": event.description,
            "raw": orjson.loads(event.raw),
        }
        for history in month
        for event in history_events(history, zone)
    ]
    rnd = random.Random(2017_11_24)
    arrivals = bodies + rnd.sample(bodies, k=len(bodies) // 3)
    rnd.shuffle(arrivals)
    outcomes: Counter[str] = Counter()
    start = 0
    while start < len(arrivals):
        size = rnd.randint(1, 60)
        response = client.post(
            "/api/v1/events", json=arrivals[start : start + size], headers=replayed.headers
        )
        assert response.status_code in (200, 201), response.text
        outcomes.update(result["outcome"] for result in response.json()["results"])
        start += size
    assert outcomes == {"accepted": len(bodies), "duplicate": len(arrivals) - len(bodies)}
    assert _states(db, replayed.merchant_id) == imported

    # A recomputation from every stored event agrees with both.
    with db.session(write=False) as session:
        ids = list(
            session.scalars(select(Order.id).where(Order.merchant_id == replayed.merchant_id))
        )
    with db.session() as session:
        rederive(session, ids, NOW)
    assert _states(db, replayed.merchant_id) == imported

    # The source's own final word, where it gave one with its moment (some orders the
    # source calls delivered carry no delivery date: no event says so, they stay shipped).
    for history in month:
        if history.status is Status.CANCELLED or (
            history.status is Status.DELIVERED and history.delivered_at is not None
        ):
            assert imported[history.order_id][0] == history.status.value, history.order_id

    counts = Counter(state[0] for state in imported.values())
    assert _digest(imported) == MONTH_DIGEST, counts
