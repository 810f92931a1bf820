"""Event ingestion over HTTP: idempotent, order-independent, one bad item never sinks a batch."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.events.service import rederive
from rumbo.models import Event, Order, Shipment
from tests.conftest import NOW, Tenant
from tests.factories import event_body, order_body


def new_order(client: TestClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json=order_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def post(client: TestClient, tenant: Tenant, body: Any) -> Any:
    return client.post("/api/v1/events", json=body, headers=tenant.headers)


def test_single_event_is_accepted_with_201_and_moves_the_status(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    response = post(client, tenant, event_body(order, status="payment_confirmed", source="payment"))
    assert response.status_code == 201
    assert response.json()["results"][0]["outcome"] == "accepted"
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert got["status"] == "payment_confirmed"


def test_a_duplicate_changes_nothing(client: TestClient, tenant: Tenant, db: Database) -> None:
    order = new_order(client, tenant)
    event = event_body(order, status="shipped")
    first = post(client, tenant, event).json()["results"][0]
    second = post(client, tenant, event)
    assert second.status_code == 200
    assert second.json()["results"][0] == first | {"outcome": "duplicate"}
    later = event | {"status": "delivered", "occurred_at": "2026-11-22T10:00:00-03:00"}
    assert post(client, tenant, later).json()["results"][0]["outcome"] == "duplicate"
    with db.session(write=False) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.order_id == order["id"])
            )
            == 2
        )
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()["status"]
        == "shipped"
    )


def test_batch_reports_each_item_and_keeps_the_good_ones(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    good = event_body(order, status="preparing", source="warehouse")
    batch = [
        good,
        good,  # repeated inside the batch
        event_body(order, status="teleported"),
        event_body(order, occurred_at="2026-11-21T09:00:00"),  # naive time
        event_body(
            None,
            tracking_code=order["tracking_code"][:-1]
            + ("A" if order["tracking_code"][-1] != "A" else "B"),
        ),
        event_body(None, external_id="NO-SUCH-ORDER"),
        event_body(None, carrier="correios", tracking_number="XX000000000BR"),
        "not an object",
    ]
    response = post(client, tenant, batch)
    assert response.status_code == 200
    body = response.json()
    outcomes = [(r["outcome"], (r["error"] or {}).get("code")) for r in body["results"]]
    assert outcomes == [
        ("accepted", None),
        ("duplicate", None),
        ("rejected", "validation_error"),
        ("rejected", "validation_error"),
        ("rejected", "invalid_tracking_code"),
        ("rejected", "unknown_order"),
        ("rejected", "unknown_shipment"),
        ("rejected", "validation_error"),
    ]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 1, 6)
    assert [r["index"] for r in body["results"]] == list(range(8))
    assert body["results"][1]["id"] == body["results"][0]["id"]


def test_a_single_event_for_an_unknown_order_is_404(client: TestClient, tenant: Tenant) -> None:
    response = post(client, tenant, event_body(None, external_id="NOPE"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_order"


def test_events_of_another_merchant_never_reach_this_one(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    response = post(client, other_tenant, event_body(order, status="delivered"))
    assert response.status_code == 404
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()["status"]
        == "pending"
    )


def test_timeline_is_ordered_by_occurrence_and_keeps_the_raw_payload(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    raw = {"tipo": "RO", "status": "01", "descricao": "Objeto em trânsito - por favor aguarde"}
    post(
        client,
        tenant,
        [
            event_body(order, status="delivered", occurred_at="2026-11-22T18:00:00-03:00", raw=raw),
            event_body(order, status="shipped", occurred_at="2026-11-21T08:00:00-03:00"),
        ],
    )
    timeline = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers).json()
    assert [e["status"] for e in timeline] == ["pending", "shipped", "delivered"]
    assert timeline[-1]["raw"] == raw
    assert timeline[-1]["occurred_at"] == "2026-11-22T21:00:00Z"
    assert timeline[1]["raw"]["status"] == "shipped"  # no raw given: the item itself is kept


def test_an_event_naming_order_and_new_parcel_registers_the_parcel(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    response = post(
        client,
        tenant,
        event_body(
            None,
            external_id=order["external_id"],
            carrier="correios",
            tracking_number="PN555BR",
            status="shipped",
        ),
    )
    assert response.status_code == 201
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert [(s["tracking_number"], s["status"]) for s in got["shipments"]] == [
        ("PN555BR", "shipped")
    ]
    # Later carrier events address the parcel alone.
    post(
        client,
        tenant,
        event_body(
            None,
            carrier="correios",
            tracking_number="PN555BR",
            status="out_for_delivery",
            occurred_at="2026-11-22T08:00:00-03:00",
        ),
    )
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()["status"]
        == "out_for_delivery"
    )


def test_a_recycled_carrier_number_does_not_merge_two_parcels(
    client: TestClient, tenant: Tenant, db: Database, clock: Any
) -> None:
    from datetime import timedelta

    old = new_order(client, tenant)
    client.post(
        f"/api/v1/orders/{old['id']}/shipments",
        json={"carrier": "seur", "tracking_number": "R1"},
        headers=tenant.headers,
    )
    clock.advance(timedelta(days=200))
    new = new_order(client, tenant)
    client.post(
        f"/api/v1/orders/{new['id']}/shipments",
        json={"carrier": "seur", "tracking_number": "R1"},
        headers=tenant.headers,
    )
    when = (NOW + timedelta(days=201)).isoformat()
    result = post(
        client,
        tenant,
        event_body(
            None, carrier="seur", tracking_number="R1", status="in_transit", occurred_at=when
        ),
    )
    assert result.json()["results"][0]["order_id"] == new["id"]
    before = (NOW + timedelta(days=1)).isoformat()
    result = post(
        client,
        tenant,
        event_body(
            None, carrier="seur", tracking_number="R1", status="delivered", occurred_at=before
        ),
    )
    assert result.json()["results"][0]["order_id"] == old["id"]


JOURNEY = [
    ("payment", "payment_confirmed", 1),
    ("warehouse", "preparing", 5),
    ("warehouse", "shipped", 9),
    ("carrier", "in_transit", 20),
    ("carrier", "exception", 30),
    ("carrier", "in_transit", 40),
    ("carrier", "out_for_delivery", 50),
    ("carrier", "delivery_failed", 52),
    ("carrier", "out_for_delivery", 70),
    ("device", "delivered", 73),
    ("carrier", "in_transit", 75),  # a stray scan after the courier's proof of delivery
]


def journey_events(order: dict[str, Any], parcel: str | None) -> list[dict[str, Any]]:
    events = []
    for n, (source, status, hours) in enumerate(JOURNEY):
        body = event_body(
            None,
            event_id=f"{order['external_id']}-{n}",
            source=source,
            status=status,
            occurred_at=f"2026-11-{20 + hours // 24:02d}T{hours % 24:02d}:00:00Z",
        )
        if parcel and source in ("carrier", "device"):
            body |= {"carrier": "correios", "tracking_number": parcel}
        else:
            body["tracking_code"] = order["tracking_code"]
        events.append(body)
    return events


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), chunk=st.integers(1, 6), with_parcel=st.booleans())
def test_any_arrival_order_and_duplication_gives_the_same_story(
    client: TestClient, tenant: Tenant, db: Database, seed: int, chunk: int, with_parcel: bool
) -> None:
    rnd = random.Random(seed)
    reference = new_order(client, tenant)
    shuffled = new_order(client, tenant)
    parcel_ref = f"REF{seed}" if with_parcel else None
    parcel_shuf = f"SHUF{seed}" if with_parcel else None
    for order, parcel in ((reference, parcel_ref), (shuffled, parcel_shuf)):
        if parcel:
            client.post(
                f"/api/v1/orders/{order['id']}/shipments",
                json={"carrier": "correios", "tracking_number": parcel},
                headers=tenant.headers,
            )

    post(client, tenant, journey_events(reference, parcel_ref))
    events = journey_events(shuffled, parcel_shuf)
    events += rnd.sample(events, k=rnd.randint(0, len(events)))
    rnd.shuffle(events)
    for start in range(0, len(events), chunk):
        post(client, tenant, events[start : start + chunk])

    ref = client.get(f"/api/v1/orders/{reference['id']}", headers=tenant.headers).json()
    got = client.get(f"/api/v1/orders/{shuffled['id']}", headers=tenant.headers).json()
    assert got["status"] == ref["status"] == "delivered"
    assert got["status_at"] == ref["status_at"]
    assert [s["status"] for s in got["shipments"]] == [s["status"] for s in ref["shipments"]]

    def story(order_id: int) -> list[tuple[str, str]]:
        timeline = client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers).json()
        return [(e["status"], e["occurred_at"]) for e in timeline]

    assert story(shuffled["id"]) == story(reference["id"])
    assert len(story(shuffled["id"])) == len(JOURNEY) + 1

    # The incremental path agrees with a recomputation from scratch.
    with db.session(write=False) as session:
        before = _status_rows(session, shuffled["id"])
    with db.session() as session:
        rederive(session, [shuffled["id"]], NOW)
    with db.session(write=False) as session:
        assert _status_rows(session, shuffled["id"]) == before


def _status_rows(session: Any, order_id: int) -> tuple[Any, ...]:
    order = session.execute(
        select(
            Order.status,
            Order.status_at,
            Order.own_status,
            Order.own_status_tiebreak,
            Order.last_event_at,
        ).where(Order.id == order_id)
    ).one()
    shipments = session.execute(
        select(Shipment.status, Shipment.status_at, Shipment.own_status_tiebreak)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.id)
    ).all()
    return (tuple(order), tuple(tuple(s) for s in shipments))
