"""Who may see and change what in the console, and how sign-in resists abuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rumbo.console.auth import COOKIE, FAILURES_PER_EMAIL
from rumbo.console.passwords import Passwords
from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.models import OrderNote, StaffSession, StaffUser
from tests.conftest import Tenant
from tests.console.conftest import (
    PASSWORD,
    Staff,
    csrf_of,
    make_staff,
    place,
    sign_in,
    signed_in,
)

PAGES = [
    "/console",
    "/console/search?q=x",
    "/console/orders/1",
    "/console/inquiries",
    "/console/inquiries/1",
    "/console/staff",
    "/console/analytics",
]
FORMS = [
    "/console/logout",
    "/console/orders/1/notes",
    "/console/orders/1/inquiries",
    "/console/inquiries/1/reply",
    "/console/inquiries/1/assign",
    "/console/inquiries/1/status",
    "/console/staff",
    "/console/staff/1/active",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_console_page_without_signing_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=%2Fconsole")


@pytest.mark.parametrize("path", FORMS)
def test_no_console_form_without_signing_in(client: TestClient, path: str) -> None:
    response = client.post(path, data={"text": "x", "csrf_token": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "sign_in_required"


def test_sign_in_sets_a_host_only_secure_httponly_samesite_cookie(
    client: TestClient, agent: Staff
) -> None:
    response = sign_in(client, agent.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "path"} <= flags
    assert "domain" not in flags
    assert "samesite=lax" in cookie.lower()
    assert "path=/;" in cookie.lower() or cookie.lower().endswith("path=/")
    assert client.get("/console").status_code == 200


def test_a_wrong_password_or_unknown_email_is_refused_alike(
    client: TestClient, agent: Staff
) -> None:
    wrong = sign_in(client, agent.email, "not the password")
    unknown = sign_in(client, "nobody@aurora.example", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "set-cookie" not in wrong.headers
    assert "The e-mail or password is not right." in wrong.text
    assert "The e-mail or password is not right." in unknown.text


def test_sign_in_is_rate_limited_per_email_even_with_the_right_password(
    client: TestClient, agent: Staff
) -> None:
    for _ in range(FAILURES_PER_EMAIL):
        assert sign_in(client, agent.email, "guess guess guess").status_code == 401
    limited = sign_in(client, agent.email.upper(), PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "set-cookie" not in limited.headers


def test_sign_in_is_rate_limited_per_client_address(client: TestClient, agent: Staff) -> None:
    for n in range(20):
        assert sign_in(client, f"guess{n}@aurora.example", "whatever it is").status_code == 401
    limited = sign_in(client, agent.email)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


def test_sign_in_form_needs_its_signed_token(client: TestClient, agent: Staff) -> None:
    response = client.post(
        "/console/login", data={"email": agent.email, "password": PASSWORD, "form_token": "x"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_sign_in_never_redirects_off_the_console(client: TestClient, agent: Staff) -> None:
    page = client.get("/console/login?next=//evil.example/console")
    assert 'value="/console"' in page.text
    for target in ("//evil.example", "https://evil.example/", "/console\\@evil", "/api/v1"):
        assert sign_in(client, agent.email, next=target).headers["location"] == "/console"
    assert sign_in(client, agent.email, next="/console/inquiries").headers["location"] == (
        "/console/inquiries"
    )


def test_passwords_are_stored_as_argon2id_phc_strings(db: Database, agent: Staff) -> None:
    with db.session(write=False) as session:
        stored = session.scalar(select(StaffUser.password_hash).where(StaffUser.id == agent.id))
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=")
    assert PASSWORD not in stored


def test_production_hashes_use_rfc_9106_low_memory_parameters() -> None:
    passwords = Passwords()
    stored = passwords.hash("a long enough password")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify(stored, "a long enough password")
    assert not passwords.verify(stored, "a long enough passwore")
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("x" * 10)
    assert passwords.needs_rehash(cheap)
    assert PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).time_cost == 3


def test_sign_in_rotates_the_session(client: TestClient, db: Database, agent: Staff) -> None:
    sign_in(client, agent.email)
    first = client.cookies.get(COOKIE)
    sign_in(client, agent.email)
    second = client.cookies.get(COOKIE)
    assert first
    assert second
    assert first != second
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 1


def test_sign_out_deletes_the_session(client: TestClient, db: Database, agent: Staff) -> None:
    csrf = signed_in(client, agent)
    token = client.cookies.get(COOKIE)
    response = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0
    client.cookies.set(COOKIE, token or "", domain="testserver")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_an_idle_session_expires_and_activity_keeps_it_alive(
    client: TestClient, clock: FixedClock, agent: Staff
) -> None:
    signed_in(client, agent)
    for _ in range(5):  # 5 × 90 min of activity: past the 2 h idle limit in total
        clock.advance(timedelta(minutes=90))
        assert client.get("/console", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=2, seconds=1))
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_session_ends_12_hours_after_sign_in_however_active(
    client: TestClient, clock: FixedClock, agent: Staff
) -> None:
    signed_in(client, agent)
    for _ in range(11):
        clock.advance(timedelta(hours=1))
        assert client.get("/console", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=1))
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_deactivated_agent_is_signed_out(
    client: TestClient, app: object, db: Database, agent: Staff, admin: Staff
) -> None:
    signed_in(client, agent)
    with TestClient(client.app, base_url="https://testserver") as other:
        csrf = signed_in(other, admin)
        response = other.post(
            f"/console/staff/{agent.id}/active", data={"csrf_token": csrf, "active": "false"}
        )
        assert response.status_code == 200
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert sign_in(client, agent.email).status_code == 401


def test_an_agent_cannot_manage_staff(client: TestClient, agent: Staff) -> None:
    csrf = signed_in(client, agent)
    assert client.get("/console/staff").status_code == 403
    assert client.get("/console/analytics").status_code == 403
    response = client.post(
        "/console/staff",
        data={
            "csrf_token": csrf,
            "email": "x@aurora.example",
            "role": "admin",
            "password": "p" * 12,
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_only"


def _note_count(db: Database) -> int:
    with db.session(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(OrderNote)) or 0)


@pytest.mark.parametrize("token", [None, "", "0" * 64, "forged"])
def test_a_form_without_this_sessions_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, db: Database, tenant: Tenant, agent: Staff, token: str | None
) -> None:
    order = place(client, tenant)
    signed_in(client, agent)
    data = {"text": "customer called"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"/console/orders/{order['id']}/notes", data=data)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert _note_count(db) == 0


def test_another_sessions_csrf_token_is_refused(
    client: TestClient, db: Database, tenant: Tenant, agent: Staff
) -> None:
    order = place(client, tenant)
    stale = signed_in(client, agent)
    signed_in(client, agent)  # a new session: a new secret
    response = client.post(
        f"/console/orders/{order['id']}/notes", data={"text": "hello", "csrf_token": stale}
    )
    assert response.status_code == 403
    assert _note_count(db) == 0


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_a_cross_site_form_is_refused_even_with_a_token(
    client: TestClient, db: Database, tenant: Tenant, agent: Staff, headers: dict[str, str]
) -> None:
    order = place(client, tenant)
    csrf = signed_in(client, agent)
    response = client.post(
        f"/console/orders/{order['id']}/notes",
        data={"text": "hello", "csrf_token": csrf},
        headers=headers,
    )
    assert response.status_code == 403
    assert _note_count(db) == 0
    same_site = client.post(
        f"/console/orders/{order['id']}/notes",
        data={"text": "hello", "csrf_token": csrf},
        headers={"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same_site.status_code == 303
    assert _note_count(db) == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(max_size=80))
def test_no_guessed_csrf_token_is_accepted(
    client: TestClient, db: Database, agent: Staff, token: str
) -> None:
    if not client.cookies.get(COOKIE):
        signed_in(client, agent)
    right = csrf_of(client.get("/console").text)
    if token == right:
        return
    response = client.post("/console/orders/999/notes", data={"text": "x", "csrf_token": token})
    assert response.status_code in (403, 422)
    assert _note_count(db) == 0


def test_another_merchants_order_and_inquiry_are_not_found(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, agent: Staff
) -> None:
    theirs = place(client, other_tenant)
    rival = make_staff(db, other_tenant.merchant_id, "rival@sol.example")
    with TestClient(client.app, base_url="https://testserver") as them:
        their_csrf = signed_in(them, rival)
        opened = them.post(
            f"/console/orders/{theirs['id']}/inquiries",
            data={"csrf_token": their_csrf, "type": "damaged", "subject": "Broken"},
            follow_redirects=False,
        )
        inquiry_path = opened.headers["location"].split("?")[0]
    csrf = signed_in(client, agent)
    assert client.get(f"/console/orders/{theirs['id']}").status_code == 404
    assert client.get(inquiry_path).status_code == 404
    inquiry_id = inquiry_path.rsplit("/", 1)[1]
    for path, data in [
        (f"/console/orders/{theirs['id']}/notes", {"text": "peek"}),
        (f"/console/inquiries/{inquiry_id}/reply", {"text": "peek"}),
        (f"/console/inquiries/{inquiry_id}/status", {"status": "resolved"}),
        (f"/console/inquiries/{inquiry_id}/assign", {"assignee": "me"}),
        (f"/console/staff/{rival.id}/active", {"active": "false"}),
    ]:
        response = client.post(path, data={**data, "csrf_token": csrf})
        assert response.status_code in (403, 404), path
    assert _note_count(db) == 0
    search = client.get(f"/console/search?q={theirs['tracking_code']}")
    assert search.status_code == 200
    assert theirs["external_id"] not in search.text
