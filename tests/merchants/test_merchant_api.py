from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Tenant


def test_branding_is_set_with_patch_and_only_sent_fields_change(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.patch(
        "/api/v1/merchant",
        json={"accent_color": "#0B6E4F", "support_email": "ajuda@aurora.example"},
        headers=tenant.headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["accent_color"], body["support_email"]) == (
        "Loja Aurora",
        "#0B6E4F",
        "ajuda@aurora.example",
    )
    response = client.patch(
        "/api/v1/merchant",
        json={"logo_url": "https://cdn.aurora.example/logo.png"},
        headers=tenant.headers,
    )
    assert response.json()["accent_color"] == "#0B6E4F"


def test_bad_branding_is_a_422(client: TestClient, tenant: Tenant) -> None:
    for body in (
        {"accent_color": "green"},
        {"logo_url": "not a url"},
        {"name": None},
        {"unknown": 1},
    ):
        response = client.patch("/api/v1/merchant", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
