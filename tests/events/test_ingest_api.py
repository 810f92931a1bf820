"""Event ingestion over HTTP: idempotent, order-independent, one bad item never sinks a batch."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.events.service import rederive
from rumbo.kit.schemas import ShortText
from rumbo.models import Event, Shipment
from tests.conftest import NOW, Tenant, status_rows
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
    # The same instant in another offset, and a different raw payload: still the same event.
    same = event | {"occurred_at": "2026-11-21T12:00:00Z", "raw": {"retry": 2}}
    assert post(client, tenant, same).json()["results"][0]["outcome"] == "duplicate"
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


def test_a_reused_event_id_with_other_content_is_a_conflict_and_changes_nothing(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = new_order(client, tenant)
    event = event_body(order, status="shipped")
    stored = post(client, tenant, event).json()["results"][0]
    changed: dict[str, dict[str, object]] = {
        "status": {"status": "delivered"},
        "occurred_at": {"occurred_at": "2026-11-22T10:00:00-03:00"},
        "description": {"description": "Objeto entregue"},
        "city": {"location": {"city": "Recife", "state": "PE", "country": "BR"}},
    }
    for field, change in changed.items():
        response = post(client, tenant, event | change)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "conflict"
        assert field in error["details"]["differs_in"]
        assert error["details"]["id"] == stored["id"]
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 2  # placed + shipped
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert got["status"] == "shipped"


def test_an_event_id_reused_for_another_order_is_refused_not_dropped(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    # A CSV import and the REST API both used "pay-1".
    a, b = new_order(client, tenant), new_order(client, tenant)
    first = event_body(a, event_id="pay-1", source="payment", status="payment_confirmed")
    assert post(client, tenant, first).status_code == 201
    again = event_body(b, event_id="pay-1", source="payment", status="payment_confirmed")
    response = post(client, tenant, again)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["differs_in"] == ["order"]
    # In a batch, the same answer per item, beside the items that are fine.
    batch = post(client, tenant, [again, event_body(b, status="shipped", source="warehouse")])
    assert [r["outcome"] for r in batch.json()["results"]] == ["rejected", "accepted"]
    assert batch.json()["results"][0]["error"]["code"] == "conflict"
    with db.session(write=False) as session:
        owner = session.scalar(select(Event.order_id).where(Event.event_id == "pay-1"))
    assert owner == a["id"]


def test_two_copies_of_an_event_id_that_disagree_inside_one_batch(
    client: TestClient, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    one = event_body(order, event_id="twin", status="shipped")
    other = one | {"status": "delivered"}
    results = post(client, tenant, [one, one, other]).json()["results"]
    assert [r["outcome"] for r in results] == ["accepted", "duplicate", "rejected"]
    assert results[2]["error"]["code"] == "conflict"


def test_a_conflict_naming_a_new_parcel_registers_no_parcel(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    a, b = new_order(client, tenant), new_order(client, tenant)
    assert post(client, tenant, event_body(a, event_id="scan-1")).status_code == 201
    clash = event_body(b, event_id="scan-1", carrier="seur", tracking_number="NEW1")
    assert post(client, tenant, clash).status_code == 409
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Shipment)) == 0


def test_an_event_from_the_future_is_refused_and_cannot_freeze_the_order(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    order = new_order(client, tenant)
    typo = event_body(order, status="in_transit", occurred_at="2030-01-01T10:00:00-03:00")
    response = post(client, tenant, typo)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "occurred_in_future"
    assert "2026-11-23T12:15:00+00:00" in error["message"]  # names the limit: now + 15 min
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1  # "placed" only
    real = event_body(order, status="shipped", occurred_at="2026-11-23T08:00:00-03:00")
    assert post(client, tenant, real).status_code == 201
    got = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers).json()
    assert got["status"] == "shipped"


def test_the_clock_skew_tolerance_is_the_limit_per_item(client: TestClient, tenant: Tenant) -> None:
    order = new_order(client, tenant)
    within = event_body(order, occurred_at="2026-11-23T12:14:59Z")  # NOW + 14:59
    beyond = event_body(order, occurred_at="2026-11-23T12:15:01Z")
    results = post(client, tenant, [within, beyond]).json()["results"]
    assert [r["outcome"] for r in results] == ["accepted", "rejected"]
    assert results[1]["error"]["code"] == "occurred_in_future"
    assert results[1]["error"]["details"]["beyond_by_seconds"] == 1


def test_the_clock_skew_tolerance_is_a_setting(settings: Any, clock: Any, tenant: Tenant) -> None:
    from rumbo.app import create_app

    strict = settings.model_copy(update={"max_clock_skew_seconds": 0})
    with TestClient(create_app(strict, clock=clock)) as strict_client:
        order = new_order(strict_client, tenant)
        late = event_body(order, occurred_at="2026-11-23T12:00:01Z")
        assert post(strict_client, tenant, late).status_code == 422


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
    clock.advance(timedelta(days=2))
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
        before = status_rows(session, shuffled["id"])
    with db.session() as session:
        rederive(session, [shuffled["id"]], NOW)
    with db.session(write=False) as session:
        assert status_rows(session, shuffled["id"]) == before


STORE_STAGES = {"pending", "payment_confirmed", "preparing"}
SOURCES_FOR = {
    "payment_confirmed": "payment",
    "preparing": "warehouse",
    "shipped": "warehouse",
    "in_transit": "carrier",
    "out_for_delivery": "carrier",
    "delivery_failed": "carrier",
    "exception": "carrier",
    "delivered": "device",
}


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(sorted(SOURCES_FOR)),
            # Clocks that disagree: up to four days either side of each other.
            st.integers(0, 96 * 60),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_over_http_the_status_never_returns_to_the_store_once_the_carrier_has_it(
    client: TestClient, tenant: Tenant, events: list[tuple[str, int]], seed: int
) -> None:
    rnd = random.Random(seed)
    orders = [new_order(client, tenant), new_order(client, tenant)]
    bodies = [
        [
            event_body(
                order,
                event_id=f"{order['external_id']}-{n}",
                source=SOURCES_FOR[status],
                status=status,
                occurred_at=(NOW - timedelta(minutes=minutes)).isoformat(),
            )
            for n, (status, minutes) in enumerate(events)
        ]
        for order in orders
    ]
    post(client, tenant, bodies[0])  # all at once: the reference
    arrival = bodies[1] + rnd.sample(bodies[1], k=len(bodies[1]) // 2)
    rnd.shuffle(arrival)
    left_the_store = False
    for body in arrival:  # one at a time, repeats included
        post(client, tenant, body)
        status = client.get(f"/api/v1/orders/{orders[1]['id']}", headers=tenant.headers).json()[
            "status"
        ]
        if status not in STORE_STAGES:
            left_the_store = True
        assert not (left_the_store and status in STORE_STAGES), status
    final = [client.get(f"/api/v1/orders/{o['id']}", headers=tenant.headers).json() for o in orders]
    assert final[0]["status"] == final[1]["status"]
    assert final[0]["status_at"] == final[1]["status_at"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    description=st.text(max_size=40),
    city=st.text(min_size=1, max_size=20),
    raw=st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3),
)
def test_any_text_is_stored_exactly_or_refused_with_a_4xx(
    client: TestClient, tenant: Tenant, description: str, city: str, raw: dict[str, str]
) -> None:
    """Whatever the characters (quotes, backslashes, line separators, emoji, NUL), an
    event's text comes back exactly as sent, or the event is refused with a 422 because
    the text holds a NUL (PostgreSQL stores none in text) — on both databases alike, and
    never a 500. A raw payload keeps even a NUL: it is stored as JSON text, escaped."""
    order = new_order(client, tenant)
    body = event_body(order, status="shipped", description=description, raw=raw)
    body["location"] = {"city": city}
    response = post(client, tenant, body)
    timeline = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers).json()
    try:
        trimmed = _SHORT_TEXT.validate_python(city)  # a city is trimmed, and not blank
    except ValidationError:
        trimmed = None
    if trimmed is None or "\x00" in description or "\x00" in trimmed:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
        assert len(timeline) == 1  # only the order's own "placed": nothing was written
        return
    assert response.status_code == 201, response.text
    stored = timeline[-1]
    assert stored["description"] == description
    assert stored["location"]["city"] == trimmed
    assert stored["raw"] == raw


_SHORT_TEXT: TypeAdapter[str] = TypeAdapter(ShortText)
