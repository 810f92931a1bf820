"""The real Olist sample through the database: import, rebuild, train, predict over HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.eta.model import train
from rumbo.eta.olist import read_olist
from rumbo.eta.store import histories_from_db, import_histories
from rumbo.events.status import Status
from rumbo.models import Event, Order
from tests.conftest import NOW, Tenant

FIELDS = (
    "purchased_at",
    "approved_at",
    "shipped_at",
    "promised_at",
    "customer_state",
    "seller_state",
    "seller_ids",
    "freight",
    "price",
    "item_count",
    "distance_km",
)


def test_import_is_complete_idempotent_and_round_trips(
    shared_data: Path, db: Database, tenant: Tenant
) -> None:
    folder = shared_data / "olist"
    first = import_histories(db, tenant.merchant_id, read_olist(folder), NOW)
    assert first.orders_created == 4071
    assert first.events_rejected == 0
    with db.session(write=False) as session:
        counts = (
            session.scalar(select(func.count()).select_from(Order)),
            session.scalar(select(func.count()).select_from(Event)),
            session.scalar(
                select(func.count()).select_from(Order).where(Order.status == "delivered")
            ),
        )
    again = import_histories(db, tenant.merchant_id, read_olist(folder), NOW)
    assert (again.orders_created, again.orders_existing, again.events_accepted) == (0, 4071, 0)
    with db.session(write=False) as session:
        assert (
            session.scalar(select(func.count()).select_from(Order)),
            session.scalar(select(func.count()).select_from(Event)),
            session.scalar(
                select(func.count()).select_from(Order).where(Order.status == "delivered")
            ),
        ) == counts
        rebuilt = {h.order_id: h for h in histories_from_db(session, tenant.merchant_id)}
    source = {h.order_id: h for h in read_olist(folder)}
    assert rebuilt.keys() == source.keys()
    for order_id, original in source.items():
        copy = rebuilt[order_id]
        assert [getattr(copy, f) for f in FIELDS] == [getattr(original, f) for f in FIELDS], (
            order_id
        )
        if original.status is Status.DELIVERED and original.delivered_at is not None:
            assert copy.status is Status.DELIVERED
        # Delivered and then cancelled: the delivery is still known, as in the file.
        assert copy.delivered_at == original.delivered_at, order_id
    assert counts[2] == sum(
        1
        for h in source.values()
        if h.delivered_at is not None and h.status is not Status.CANCELLED
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_eta_endpoint_predicts_from_the_current_model(
    shared_data: Path,
    app: FastAPI,
    client: TestClient,
    db: Database,
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    app.state.eta.models_dir = tmp_path
    import_histories(db, tenant.merchant_id, read_olist(shared_data / "olist"), NOW)
    with db.session(write=False) as session:
        open_order = session.scalar(
            select(Order.id).where(
                Order.status == "shipped", Order.promised_delivery_date.is_not(None)
            )
        )
        delivered = session.scalar(select(Order.id).where(Order.status == "delivered"))
    assert open_order is not None
    assert delivered is not None
    missing = client.get(f"/api/v1/orders/{open_order}/eta", headers=tenant.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_model"

    with db.session(write=False) as session:
        histories = histories_from_db(session, tenant.merchant_id)
    model = train(histories, date(2018, 1, 1))
    model.save(tmp_path)
    app.state.eta._model = None  # pick up the new version now rather than on the next refresh

    body: dict[str, Any] = client.get(
        f"/api/v1/orders/{open_order}/eta", headers=tenant.headers
    ).json()
    assert body["model_version"] == model.version
    assert body["earliest"] <= body["estimated_delivery"] <= body["latest"]
    assert body["risk"] in ("on_track", "at_risk", "late")
    assert body["estimated_delivery"].endswith("-03:00")  # the destination's wall clock (Brazil)
    finished = client.get(f"/api/v1/orders/{delivered}/eta", headers=tenant.headers)
    assert finished.status_code == 409
    assert finished.json()["error"]["code"] == "order_finished"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rescoring_flags_open_orders_and_lists_them_by_risk(
    shared_data: Path,
    app: FastAPI,
    client: TestClient,
    db: Database,
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    from rumbo.eta.rescore import rescore_all
    from rumbo.eta.store import EtaService

    import_histories(db, tenant.merchant_id, read_olist(shared_data / "olist"), NOW)
    with db.session(write=False) as session:
        histories = histories_from_db(session, tenant.merchant_id)
        open_count = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.status.not_in(["delivered", "cancelled", "returned"]))
        )
    train(histories, date(2018, 1, 1)).save(tmp_path)
    service = EtaService(db, tmp_path)
    summary = rescore_all(db, service, NOW)
    assert open_count is not None
    assert summary.scored == open_count > 0
    # The sample's open orders are years past their promise: every one is late, each reported once.
    assert len(summary.newly_at_risk) == open_count
    assert rescore_all(db, service, NOW).newly_at_risk == []
    # Each one gets the proactive "may be delayed" once (no e-mail on file: visibly suppressed).
    from rumbo.models import OutboxMessage

    with db.session(write=False) as session:
        warned = session.execute(
            select(
                OutboxMessage.order_id, OutboxMessage.status, OutboxMessage.suppressed_reason
            ).where(OutboxMessage.kind == "may_be_delayed")
        ).all()
    assert len({row.order_id for row in warned}) == open_count
    assert len(warned) == open_count
    assert {(row.status, row.suppressed_reason) for row in warned} == {("suppressed", "no_contact")}

    late = client.get(
        "/api/v1/orders", params={"risk": "late", "limit": 200}, headers=tenant.headers
    ).json()
    assert len(late["items"]) == min(open_count, 200)
    eta = late["items"][0]["eta"]
    assert eta["risk"] == "late"
    assert eta["earliest"] <= eta["estimated_delivery"] <= eta["latest"]
    on_track = client.get(
        "/api/v1/orders", params={"risk": "on_track"}, headers=tenant.headers
    ).json()
    assert on_track["items"] == []
    assert (
        client.get("/api/v1/orders", params={"risk": "soon"}, headers=tenant.headers).status_code
        == 422
    )
