"""The inquiries API: every bad input a clear 4xx, other stores' ids a 404, no partial writes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.models import Conversation, ConversationTurn, Inquiry
from tests.conftest import Tenant
from tests.support.conftest import new_order, new_staff


def _counts(db: Database) -> tuple[int | None, ...]:
    with db.session(write=False) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (Inquiry, Conversation, ConversationTurn)
        )


def test_open_by_external_id_then_reply_and_resolve(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    agent = new_staff(db, tenant)
    created = client.post(
        "/api/v1/inquiries",
        json={
            "external_id": order["external_id"],
            "type": "wrong_item",
            "subject": "Veio a cor errada",
            "message": "Pedi azul, veio verde.",
            "contact": {"email": "Ana@Example.com", "phone": "+55 11 99876-5432"},
        },
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["order_id"] == order["id"]
    assert (body["status"], body["source"]) == ("open", "api")
    assert body["contact"] == {"email": "ana@example.com", "phone": "+55 11 99876-5432"}
    assert [t["text"] for t in body["conversation"]["turns"]] == ["Pedi azul, veio verde."]
    url = f"/api/v1/inquiries/{body['id']}"
    reply = client.post(
        f"{url}/messages",
        json={"text": "Enviamos a troca.", "author_id": agent},
        headers=tenant.headers,
    )
    assert reply.status_code == 201
    assert reply.json()["role"] == "agent"
    after = client.get(url, headers=tenant.headers).json()
    assert after["status"] == "waiting"
    assert after["first_response_at"] is not None
    assert [t["role"] for t in after["conversation"]["turns"]] == ["shopper", "agent"]
    resolved = client.patch(url, json={"status": "resolved"}, headers=tenant.headers).json()
    assert resolved["resolved_at"] is not None
    listed = client.get(
        "/api/v1/inquiries", params={"status": "resolved"}, headers=tenant.headers
    ).json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]


def test_open_by_tracking_code(client: TestClient, tenant: Tenant) -> None:
    order = new_order(client, tenant)
    response = client.post(
        "/api/v1/inquiries",
        json={"tracking_code": order["tracking_code"].lower(), "type": "delay", "subject": "?"},
        headers=tenant.headers,
    )
    assert response.status_code == 201
    assert response.json()["order_id"] == order["id"]
    assert response.json()["conversation"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "delay"}, 422),
        ({"type": "lost", "subject": "x"}, 422),
        ({"type": "delay", "subject": "   "}, 422),
        ({"type": "delay", "subject": "x" * 301}, 422),
        ({"type": "delay", "subject": "x", "message": ""}, 422),
        ({"type": "delay", "subject": "x", "contact": {"email": "not-an-email"}}, 422),
        ({"type": "delay", "subject": "x", "contact": {"phone": "call me"}}, 422),
        ({"type": "delay", "subject": "x", "order_id": 1, "external_id": "PED"}, 422),
        ({"type": "delay", "subject": "x", "order_id": 0}, 422),
        ({"type": "delay", "subject": "x", "surprise": 1}, 422),
        ({"type": "delay", "subject": "x", "order_id": 999999}, 404),
        ({"type": "delay", "subject": "x", "external_id": "nope"}, 404),
        ({"type": "delay", "subject": "x", "tracking_code": "!!"}, 404),
        ({"type": "delay", "subject": "x", "assignee_id": 999999}, 404),
    ],
)
def test_bad_bodies_are_refused_and_write_nothing(
    client: TestClient, db: Database, tenant: Tenant, body: dict[str, Any], status: int
) -> None:
    before = _counts(db)
    response = client.post("/api/v1/inquiries", json=body, headers=tenant.headers)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"code", "message"}
    assert _counts(db) == before


def test_bad_json_and_no_key(client: TestClient, tenant: Tenant) -> None:
    bad = client.post(
        "/api/v1/inquiries",
        content=b"{",
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    assert client.get("/api/v1/inquiries").status_code == 401


@pytest.mark.parametrize(
    ("patch", "status"),
    [
        ({}, 422),
        ({"status": "closed"}, 422),
        ({"status": None}, 422),
        ({"type": None}, 422),
        ({"assignee_id": -1}, 422),
        ({"assignee_id": 999999}, 404),
        ({"status": "waiting", "type": "other"}, 409),  # resolved → waiting is not a move
    ],
)
def test_bad_patches_change_nothing(
    client: TestClient, tenant: Tenant, patch: dict[str, Any], status: int
) -> None:
    order = new_order(client, tenant)
    inquiry = client.post(
        "/api/v1/inquiries",
        json={"order_id": order["id"], "type": "delay", "subject": "x"},
        headers=tenant.headers,
    ).json()
    url = f"/api/v1/inquiries/{inquiry['id']}"
    client.patch(url, json={"status": "resolved"}, headers=tenant.headers)
    before = client.get(url, headers=tenant.headers).json()
    response = client.patch(url, json=patch, headers=tenant.headers)
    assert response.status_code == status, response.text
    assert client.get(url, headers=tenant.headers).json() == before


def test_another_stores_inquiries_are_not_found(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    order = new_order(client, tenant)
    theirs = new_order(client, other_tenant)
    their_agent = new_staff(db, other_tenant, "Eva")
    inquiry = client.post(
        "/api/v1/inquiries",
        json={"order_id": order["id"], "type": "delay", "subject": "x"},
        headers=tenant.headers,
    ).json()
    url = f"/api/v1/inquiries/{inquiry['id']}"
    h = other_tenant.headers
    assert client.get(url, headers=h).status_code == 404
    assert client.patch(url, json={"status": "resolved"}, headers=h).status_code == 404
    assert client.post(f"{url}/messages", json={"text": "x"}, headers=h).status_code == 404
    assert client.get("/api/v1/inquiries", headers=h).json()["items"] == []
    for ref in (
        {"order_id": order["id"]},
        {"external_id": order["external_id"]},
        {"tracking_code": order["tracking_code"]},
    ):
        refused = client.post(
            "/api/v1/inquiries", json={**ref, "type": "delay", "subject": "x"}, headers=h
        )
        assert refused.status_code == 404
    foreign_assignee = client.patch(url, json={"assignee_id": their_agent}, headers=tenant.headers)
    assert foreign_assignee.status_code == 404
    foreign_author = client.post(
        f"{url}/messages", json={"text": "x", "author_id": their_agent}, headers=tenant.headers
    )
    assert foreign_author.status_code == 404
    assert client.get(url, headers=tenant.headers).json()["first_response_at"] is None
    assert theirs["id"] != order["id"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "closed"},
        {"type": "lost"},
        {"source": "email"},
        {"assignee_id": "x"},
        {"cursor": "garbage!"},
        {"limit": 0},
        {"limit": 1000},
        {"assignee_id": 1, "unassigned": "true"},
    ],
)
def test_bad_list_filters_are_4xx(
    client: TestClient, tenant: Tenant, params: dict[str, Any]
) -> None:
    response = client.get("/api/v1/inquiries", params=params, headers=tenant.headers)
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_reply_refuses_empty_text(client: TestClient, tenant: Tenant) -> None:
    inquiry = client.post(
        "/api/v1/inquiries", json={"type": "other", "subject": "x"}, headers=tenant.headers
    ).json()
    url = f"/api/v1/inquiries/{inquiry['id']}/messages"
    assert client.post(url, json={"text": "  "}, headers=tenant.headers).status_code == 422
    assert client.post(url, json={}, headers=tenant.headers).status_code == 422
    again = client.get(f"/api/v1/inquiries/{inquiry['id']}", headers=tenant.headers).json()
    assert again["conversation"] is None


def test_the_api_is_documented_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/inquiries"])
    assert {"get", "patch"} <= set(paths["/api/v1/inquiries/{inquiry_id}"])
    assert "post" in paths["/api/v1/inquiries/{inquiry_id}/messages"]
    assert "get" in paths["/api/v1/analytics/support"]
    components = schema["components"]["schemas"]
    for name in ("InquiryCreate", "InquiryUpdate", "MessageCreate", "SupportAnalyticsOut"):
        assert components[name].get("examples"), name
