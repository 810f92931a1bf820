"""What an agent does in the console: find an order, read it whole, note, handle inquiries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rumbo.console.queries import QUEUE_PAGE
from rumbo.console.service import ensure_demo_staff
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.kit.codes import format_code
from rumbo.models import Inquiry, OutboxMessage, StaffUser
from rumbo.support import service as support
from tests.conftest import NOW, Tenant
from tests.console.conftest import Staff, make_staff, place, sign_in, signed_in
from tests.web.conftest import place_order


def _found(client: TestClient, q: str) -> str | None:
    """The order page a search lands on, if it lands on one."""
    response = client.get("/console/search", params={"q": q}, follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    location: str | None = response.headers.get("location")
    return location


def test_one_box_finds_an_order_by_every_handle(
    client: TestClient, tenant: Tenant, agent: Staff
) -> None:
    order = place_order(
        client,
        tenant,
        customer={"email": "Ana.Souza@Example.com", "phone": "+55 (11) 99876-5432", "name": "Ana"},
    )  # noqa: E501
    place(client, tenant, customer={"phone": "+34 600 123 456"})  # must not match
    signed_in(client, agent)
    page = f"/console/orders/{order['id']}"
    code = order["tracking_code"]
    for q in (
        code,
        code.lower(),
        format_code(code),  # grouped with dashes, as read aloud
        f"  {code[:6]} {code[6:]} ",
        order["external_id"],
        "ana.souza@example.com",
        "ANA.SOUZA@EXAMPLE.COM",
        "+55 11 99876-5432",
        "11998765432",  # without the country code
        "(11) 99876 5432",
        "PN987654321BR",
        "pn987654321br",
    ):
        assert _found(client, q) == page, q


def test_a_search_with_several_or_no_matches_lists_them(
    client: TestClient, tenant: Tenant, agent: Staff
) -> None:
    first = place(client, tenant, customer={"email": "twice@example.com"})
    second = place(client, tenant, customer={"email": "twice@example.com"})
    signed_in(client, agent)
    listing = client.get("/console/search", params={"q": "twice@example.com"})
    assert listing.status_code == 200
    assert "2 orders match" in listing.text
    assert listing.text.index(second["external_id"]) < listing.text.index(first["external_id"])
    assert "matched by" in listing.text.lower()
    none = client.get("/console/search", params={"q": "nothing-like-this"})
    assert 'id="no-results"' in none.text
    too_long = client.get("/console/search", params={"q": "x" * 400})
    assert too_long.status_code == 422


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_tracking_code_is_found_however_it_is_typed(
    client: TestClient, tenant: Tenant, agent: Staff, data: st.DataObject
) -> None:
    if not client.cookies:
        signed_in(client, agent)
        client.app.state.console_code = place(client, tenant)  # type: ignore[attr-defined]
    order: dict[str, Any] = client.app.state.console_code  # type: ignore[attr-defined]
    typed = []
    for ch in order["tracking_code"]:
        ch = data.draw(st.sampled_from([ch, ch.lower()] + (["O", "o"] if ch == "0" else [])))
        typed.append(ch + data.draw(st.sampled_from(["", "", " ", "-"])))
    assert _found(client, "".join(typed)) == f"/console/orders/{order['id']}"


def test_the_order_page_shows_timeline_raw_events_shipments_notifications_and_eta(
    client: TestClient, db: Database, tenant: Tenant, agent: Staff
) -> None:
    order = place_order(client, tenant)
    with db.session() as session:
        session.add(
            OutboxMessage(
                merchant_id=tenant.merchant_id,
                order_id=order["id"],
                channel="email",
                kind="shipped",
                idempotency_key=f"test-{order['id']}",
                payload={},
                status="failed",
                attempts=5,
                last_error="550 mailbox unavailable",
                created_at=NOW,
            )
        )
    signed_in(client, agent)
    page = client.get(f"/console/orders/{order['id']}")
    assert page.status_code == 200
    html = page.text
    assert order["external_id"] in html
    assert 'id="order-status">In transit<' in html
    assert "PN987654321BR" in html
    assert "SEDEX" in html
    # Each event with its raw payload, collapsed.
    timeline = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers).json()
    assert len(timeline) >= 2
    assert html.count("<details><summary>Raw event") == len(timeline)
    assert "&#34;tracking_number&#34;: &#34;PN987654321BR&#34;" in html
    assert "550 mailbox unavailable" in html
    assert "outbox-failed" in html
    assert "Promised" in html
    assert "December 5, 2026" in html


def test_an_agent_adds_a_note_to_an_order(
    client: TestClient, db: Database, tenant: Tenant, agent: Staff
) -> None:
    order = place(client, tenant)
    csrf = signed_in(client, agent)
    response = client.post(
        f"/console/orders/{order['id']}/notes",
        data={"csrf_token": csrf, "text": "Shopper called: <b>leave with the doorman</b>"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/orders/{order['id']}?done=note#notes"
    html = client.get(f"/console/orders/{order['id']}").text
    assert "Shopper called: &lt;b&gt;leave with the doorman&lt;/b&gt;" in html
    assert "Carla" in html
    empty = client.post(
        f"/console/orders/{order['id']}/notes", data={"csrf_token": csrf, "text": "   "}
    )
    assert empty.status_code == 422
    with db.session(write=False) as session:
        assert len(support.notes_for_order(session, tenant.merchant_id, order["id"])) == 1


def _open(client: TestClient, csrf: str, order_id: int, **fields: str) -> int:
    data = {"csrf_token": csrf, "type": "delay", "subject": "Where is my parcel?", **fields}
    response = client.post(
        f"/console/orders/{order_id}/inquiries", data=data, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    found = re.search(r"/console/inquiries/(\d+)", response.headers["location"])
    assert found
    return int(found.group(1))


def test_an_inquiry_from_reply_to_resolution_records_its_times(
    client: TestClient, db: Database, clock: FixedClock, tenant: Tenant, agent: Staff
) -> None:
    order = place(client, tenant)
    csrf = signed_in(client, agent)
    inquiry_id = _open(client, csrf, order["id"], message="It was due yesterday", assign_to_me="")
    page = client.get(f"/console/inquiries/{inquiry_id}").text
    assert 'id="inquiry-status">Open<' in page
    assert "It was due yesterday" in page
    assert 'id="inquiry-assignee">Unassigned<' in page

    clock.advance(timedelta(minutes=5))
    client.post(
        f"/console/inquiries/{inquiry_id}/assign", data={"csrf_token": csrf, "assignee": "me"}
    )
    clock.advance(timedelta(minutes=40))
    replied = client.post(
        f"/console/inquiries/{inquiry_id}/reply",
        data={"csrf_token": csrf, "text": "It is with the courier today."},
    )
    assert replied.status_code == 200
    clock.advance(timedelta(minutes=90))
    resolved = client.post(
        f"/console/inquiries/{inquiry_id}/status", data={"csrf_token": csrf, "status": "resolved"}
    )
    assert resolved.status_code == 200
    page = resolved.text
    assert 'id="inquiry-status">Resolved<' in page
    assert 'id="inquiry-assignee">Carla<' in page
    assert "It is with the courier today." in page
    with db.session(write=False) as session:
        inquiry = session.get_one(Inquiry, inquiry_id)
    assert inquiry.first_response_at == NOW + timedelta(minutes=45)
    assert inquiry.resolved_at == NOW + timedelta(hours=2, minutes=15)
    assert ">45m<" in page  # first response time
    assert ">2h 15m<" in page  # resolution time
    # Resolved cannot move to waiting: a 409 that changes nothing.
    refused = client.post(
        f"/console/inquiries/{inquiry_id}/status", data={"csrf_token": csrf, "status": "waiting"}
    )
    assert refused.status_code == 409
    bad = client.post(
        f"/console/inquiries/{inquiry_id}/status", data={"csrf_token": csrf, "status": "closed"}
    )
    assert bad.status_code == 422


def test_reply_and_resolve_in_one_go(
    client: TestClient, db: Database, tenant: Tenant, agent: Staff
) -> None:
    order = place(client, tenant)
    csrf = signed_in(client, agent)
    inquiry_id = _open(client, csrf, order["id"])
    client.post(
        f"/console/inquiries/{inquiry_id}/reply",
        data={"csrf_token": csrf, "text": "Refund issued.", "resolve": "true"},
    )
    with db.session(write=False) as session:
        inquiry = session.get_one(Inquiry, inquiry_id)
    assert inquiry.status == "resolved"
    assert inquiry.first_response_at is not None


def test_the_queue_puts_the_longest_waiting_first_and_filters(
    client: TestClient, db: Database, clock: FixedClock, tenant: Tenant, agent: Staff
) -> None:
    order = place(client, tenant)
    csrf = signed_in(client, agent)
    ids = []
    for n, kind in enumerate(["damaged", "return", "damaged"]):
        ids.append(_open(client, csrf, order["id"], type=kind, subject=f"Inquiry number {n}"))
        clock.advance(timedelta(minutes=10))
    client.post(f"/console/inquiries/{ids[1]}/assign", data={"csrf_token": csrf, "assignee": "me"})
    client.post(
        f"/console/inquiries/{ids[2]}/status", data={"csrf_token": csrf, "status": "resolved"}
    )

    def listed(**params: str) -> list[int]:
        html = client.get("/console/inquiries", params=params).text
        return [int(x) for x in re.findall(r'<td><a href="/console/inquiries/(\d+)">\d+</a>', html)]

    assert listed() == [ids[0], ids[1]]
    assert listed(status="all") == ids
    assert listed(status="resolved") == [ids[2]]
    assert listed(type="damaged") == [ids[0]]
    assert listed(assignee="me") == [ids[1]]
    assert listed(assignee="none") == [ids[0]]
    assert ">30m<" in client.get("/console/inquiries").text  # the oldest one's age
    assert client.get("/console/inquiries", params={"status": "nope"}).status_code == 422
    assert client.get("/console/inquiries", params={"assignee": "x"}).status_code == 422


def test_the_queue_pages(client: TestClient, db: Database, tenant: Tenant, agent: Staff) -> None:
    order = place(client, tenant)
    with db.session() as session:
        for n in range(QUEUE_PAGE + 3):
            support.create_inquiry(
                session,
                tenant.merchant_id,
                order_id=order["id"],
                type="other",
                source="api",
                subject=f"Question {n}",
                now=NOW,
            )
    signed_in(client, agent)
    first = client.get("/console/inquiries").text
    assert first.count('class="inquiry-row"') == QUEUE_PAGE
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert nxt
    second = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert second.count('class="inquiry-row"') == 3
    assert 'rel="next"' not in second
    assert client.get("/console/inquiries", params={"cursor": "bogus"}).status_code == 400


def test_an_admin_adds_and_deactivates_staff_of_their_store(
    client: TestClient, db: Database, tenant: Tenant, admin: Staff
) -> None:
    csrf = signed_in(client, admin)
    created = client.post(
        "/console/staff",
        data={
            "csrf_token": csrf,
            "email": "New.Agent@Aurora.example",
            "role": "agent",
            "name": "Nina",
            "password": "a good long password",
        },
    )
    assert created.status_code == 200
    assert "new.agent@aurora.example" in created.text
    duplicate = client.post(
        "/console/staff",
        data={"csrf_token": csrf, "email": "new.agent@aurora.example", "role": "agent",
              "password": "another long password"},
    )  # fmt: skip
    assert duplicate.status_code == 409
    short = client.post(
        "/console/staff",
        data={
            "csrf_token": csrf,
            "email": "b@aurora.example",
            "role": "agent",
            "password": "short",
        },
    )
    assert short.status_code == 422
    with db.session(write=False) as session:
        nina = session.scalars(select(StaffUser).where(StaffUser.name == "Nina")).one()
    client.post(f"/console/staff/{nina.id}/active", data={"csrf_token": csrf, "active": "false"})
    with db.session(write=False) as session:
        assert session.get_one(StaffUser, nina.id).active is False
    self_off = client.post(
        f"/console/staff/{admin.id}/active", data={"csrf_token": csrf, "active": "false"}
    )
    assert self_off.status_code == 409


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_staff_see_the_navigation_their_role_allows(
    client: TestClient, db: Database, tenant: Tenant, role: str
) -> None:
    staff = make_staff(db, tenant.merchant_id, f"{role}@aurora.example", role)
    signed_in(client, staff)
    html = client.get("/console").text
    assert ('href="/console/staff"' in html) is (role == "admin")


def test_admins_see_support_figures_of_their_store_for_a_range(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, admin: Staff
) -> None:
    mine = place(client, tenant)
    theirs = place(client, other_tenant)
    with db.session() as session:
        for merchant_id, order in ((tenant.merchant_id, mine), (other_tenant.merchant_id, theirs)):
            support.create_inquiry(
                session, merchant_id, order_id=order["id"], type="damaged", source="agent",
                subject="Broken", now=NOW,
            )  # fmt: skip
    signed_in(client, admin)
    html = client.get("/console/analytics", params={"from": "2026-11-01", "to": "2026-12-01"})
    assert html.status_code == 200
    assert 'id="fig-inquiries">1<' in html.text
    assert 'id="fig-backlog">1' in html.text
    assert "Damaged" in html.text
    earlier = client.get("/console/analytics", params={"from": "2026-10-01", "to": "2026-11-01"})
    assert 'id="fig-inquiries">0<' in earlier.text
    backwards = client.get("/console/analytics", params={"from": "2026-12-01", "to": "2026-11-01"})
    assert backwards.status_code == 422
    assert client.get("/console/analytics", params={"from": "soon"}).status_code == 422
    assert client.get("/console/analytics", params={"from": "2020-01-01"}).status_code == 422


def test_the_demo_gets_an_agent_and_an_admin_with_a_fresh_password_each_run(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    with db.session() as session:
        first = ensure_demo_staff(session, tenant.merchant_id, NOW)
    with db.session() as session:
        second = ensure_demo_staff(session, tenant.merchant_id, NOW)
    assert first["password"] != second["password"]
    assert sign_in(client, "admin@demo-store.example", first["password"]).status_code == 401
    assert sign_in(client, "admin@demo-store.example", second["password"]).status_code == 303
    assert sign_in(client, "agent@demo-store.example", second["password"]).status_code == 303
