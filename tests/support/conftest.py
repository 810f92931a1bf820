"""Orders and staff for the support tests, through the real API and tables."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.models import StaffUser
from tests.conftest import NOW, Tenant
from tests.factories import order_body


def new_order(client: TestClient, tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/orders", json=order_body(**overrides), headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def new_staff(db: Database, tenant: Tenant, name: str = "Bia", *, active: bool = True) -> int:
    with db.session() as session:
        staff = StaffUser(
            merchant_id=tenant.merchant_id,
            email=f"{name.lower()}.{tenant.merchant_id}@store.example",
            name=name,
            role="agent",
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            active=active,
            created_at=NOW,
        )
        session.add(staff)
        session.flush()
        return staff.id
