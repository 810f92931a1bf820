"""A stored delivery-date prediction reaches the shopper: API, page and assistant."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import update

from rumbo.db import Database
from rumbo.models import Order
from rumbo.shared import live
from tests.conftest import Tenant
from tests.factories import event_body
from tests.web.conftest import place_order


def predict(db: Database, order_id: int) -> None:
    """What the re-scoring job stores (see rumbo.eta.rescore), the version bump it makes
    and its announcement to live pages and cached views."""
    with db.session() as session:
        session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(
                eta_estimated=datetime(2026, 11, 27, 15, tzinfo=UTC),
                eta_earliest=datetime(2026, 11, 26, 15, tzinfo=UTC),
                eta_latest=datetime(2026, 11, 30, 15, tzinfo=UTC),
                on_time_probability=0.93,
                risk="on_track",
                eta_model_version="test",
                version=Order.version + 1,
            )
        )
        live.announce(session, [order_id])


def test_the_prediction_is_shown_while_the_order_travels(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    assert client.get(f"/api/v1/track/{code}").json()["prediction"] is None
    predict(db, order["id"])

    api = client.get(f"/api/v1/track/{code}").json()
    assert api["prediction"] == {
        "estimated_delivery": "2026-11-27T15:00:00Z",
        "earliest": "2026-11-26T15:00:00Z",
        "latest": "2026-11-30T15:00:00Z",
    }
    assert "risk" not in api["prediction"]  # the store's concern, not the shopper's
    html = client.get(f"/t/{code}?lang=en").text
    assert "Nov 27, 2026" in html or "November 27, 2026" in html
    answer = client.post(
        f"/api/v1/track/{code}/ask", json={"question": "when will it arrive?"}
    ).json()
    assert answer["intent"] == "delivery_date"
    assert "27" in answer["answer"]

    client.post(
        "/api/v1/events",
        json=event_body(order, status="delivered", occurred_at="2026-11-23T08:00:00-03:00"),
        headers=tenant.headers,
    )
    assert client.get(f"/api/v1/track/{code}").json()["prediction"] is None
