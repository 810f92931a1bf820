"""A console over HTTPS (its cookie is ``__Host-``: Secure only), staff and sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rumbo.console import passwords
from rumbo.console.service import create_staff
from rumbo.db import Database
from tests.conftest import NOW, Tenant
from tests.factories import order_body

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id still, with the smallest parameters: sign-ins cost microseconds in tests.
    (``test_security`` checks the real parameters separately.)"""
    monkeypatch.setattr(passwords.PASSWORDS, "hasher", PasswordHasher.from_parameters(CHEAPEST))
    monkeypatch.setattr(passwords.PASSWORDS, "_dummy", None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


@dataclass
class Staff:
    id: int
    email: str
    merchant_id: int


def make_staff(
    db: Database, merchant_id: int, email: str, role: str = "agent", name: str | None = None
) -> Staff:
    with db.session() as session:
        staff = create_staff(session, merchant_id, email, role, PASSWORD, NOW, name=name)
    return Staff(staff.id, staff.email, merchant_id)


@pytest.fixture
def agent(db: Database, tenant: Tenant) -> Staff:
    return make_staff(db, tenant.merchant_id, "carla@aurora.example", "agent", "Carla")


@pytest.fixture
def admin(db: Database, tenant: Tenant) -> Staff:
    return make_staff(db, tenant.merchant_id, "boss@aurora.example", "admin", "Bia")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(
    client: TestClient, email: str, password: str = PASSWORD, next: str | None = None
) -> Any:
    page = client.get("/console/login")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token
    data = {"email": email, "password": password, "form_token": token.group(1)}
    if next is not None:
        data["next"] = next
    return client.post("/console/login", data=data, follow_redirects=False)


def signed_in(client: TestClient, staff: Staff) -> str:
    """Sign ``staff`` in; returns the CSRF token of their session."""
    response = sign_in(client, staff.email)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/console").text)


def place(client: TestClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json=order_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
