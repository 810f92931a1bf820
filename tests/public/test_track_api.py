"""The shopper's API: no personal data without proof of ownership."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from rumbo.kit.codes import check_character
from tests.conftest import Tenant
from tests.factories import event_body, order_body

PII = ("Ana Souza", "ana", "+5511998765432", "Paulista", "Camiseta", "TSHIRT", "01310")


def placed(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    order = client.post("/api/v1/orders", json=order_body(), headers=tenant.headers).json()
    client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "correios", "tracking_number": "PN987654321BR", "service": "SEDEX"},
        headers=tenant.headers,
    )
    client.post(
        "/api/v1/events",
        json=[
            event_body(
                order,
                source="payment",
                status="payment_confirmed",
                occurred_at="2026-11-20T10:30:00-03:00",
                location=None,
            ),
            event_body(
                None,
                carrier="correios",
                tracking_number="PN987654321BR",
                status="in_transit",
                occurred_at="2026-11-21T09:00:00-03:00",
            ),
        ],
        headers=tenant.headers,
    )
    return order  # type: ignore[no-any-return]


def test_public_view_has_the_story_and_no_personal_data(client: TestClient, tenant: Tenant) -> None:
    order = placed(client, tenant)
    response = client.get(f"/api/v1/track/{order['tracking_code']}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "in_transit"
    assert body["promised_delivery_date"] == "2026-12-05"
    assert body["shipments"] == [
        {
            "carrier": "correios",
            "tracking_number": "PN987654321BR",
            "service": "SEDEX",
            "status": "in_transit",
            "status_at": "2026-11-21T12:00:00Z",
        }
    ]
    reached = {m["status"]: (m["reached"], m["reached_at"]) for m in body["milestones"]}
    assert reached["payment_confirmed"] == (True, "2026-11-20T13:30:00Z")
    assert reached["preparing"] == (True, None)  # passed without an event saying so
    assert reached["out_for_delivery"] == (False, None)
    assert reached["delivered"] == (False, None)
    transit = [m for m in body["milestones"] if m["status"] == "in_transit"][0]
    assert transit["place"] == {"city": "Curitiba", "state": "PR", "country": "BR"}
    assert [e["status"] for e in body["timeline"]] == ["pending", "payment_confirmed", "in_transit"]
    assert body["verified"] is False
    assert body["private"] is None
    for secret in PII:
        assert secret not in response.text, secret


def test_verifying_with_postal_code_or_email_unlocks_the_detail(
    client: TestClient, tenant: Tenant
) -> None:
    order = placed(client, tenant)
    code = order["tracking_code"]
    for answer in ({"postal_code": "01310100"}, {"email": order["customer"]["email"].upper()}):
        response = client.post(f"/api/v1/track/{code}/verify", json=answer)
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        detail = client.get(f"/api/v1/track/{code}", headers={"X-Tracking-Token": token}).json()
        assert detail["verified"] is True
        assert detail["private"]["customer_name"] == "Ana Souza"
        assert detail["private"]["destination"]["line1"] == "Av. Paulista, 1000"
        assert detail["private"]["items"][0]["name"] == "Camiseta"


def test_a_token_for_one_code_does_not_open_another(client: TestClient, tenant: Tenant) -> None:
    a, b = placed(client, tenant), placed(client, tenant)
    token = client.post(
        f"/api/v1/track/{a['tracking_code']}/verify", json={"postal_code": "01310-100"}
    ).json()["token"]
    other = client.get(
        f"/api/v1/track/{b['tracking_code']}", headers={"X-Tracking-Token": token}
    ).json()
    assert other["verified"] is False
    forged = client.get(
        f"/api/v1/track/{a['tracking_code']}", headers={"X-Tracking-Token": token + "x"}
    ).json()
    assert forged["verified"] is False


def test_wrong_answers_are_refused_then_rate_limited(client: TestClient, tenant: Tenant) -> None:
    order = placed(client, tenant)
    code = order["tracking_code"]
    for _ in range(10):
        response = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "99999-999"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "verification_failed"
    blocked = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "01310-100"})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


def test_unknown_and_mistyped_codes_get_a_clear_404(client: TestClient, tenant: Tenant) -> None:
    order = placed(client, tenant)
    code = order["tracking_code"]
    typo = code[:3] + ("X" if code[3] != "X" else "Y") + code[4:]
    response = client.get(f"/api/v1/track/{typo}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tracking_code_check_mismatch"
    assert "typo" in response.json()["error"]["message"]
    payload = "ABCDEFGHJKMN"
    unknown = client.get(f"/api/v1/track/{payload}{check_character(payload)}")
    assert unknown.json()["error"]["code"] == "tracking_code_unknown"
    assert client.get("/api/v1/track/short").json()["error"]["code"] == "tracking_code_wrong_length"
    # Typed loosely, the real code is still found.
    loose = f"{code[:4].lower()}-{code[4:8]} {code[8:]}"
    assert client.get(f"/api/v1/track/{loose}").status_code == 200


def test_tokens_expire(client: TestClient, tenant: Tenant, app: Any) -> None:
    order = placed(client, tenant)
    tokens = app.state.track_tokens
    token, expires_at = tokens.issue(order["tracking_code"], app.state.clock.now())
    assert expires_at - app.state.clock.now() == timedelta(seconds=1800)
    tokens.ttl_seconds = -1
    assert tokens.is_valid_for(token, order["tracking_code"]) is False


def test_the_public_view_changes_as_soon_as_an_event_arrives(
    client: TestClient, tenant: Tenant
) -> None:
    order = placed(client, tenant)
    path = f"/api/v1/track/{order['tracking_code']}"
    assert client.get(path).json()["status"] == "in_transit"
    assert client.get(path).json()["status"] == "in_transit"  # served again, unchanged
    client.post(
        "/api/v1/events",
        json=event_body(
            None,
            carrier="correios",
            tracking_number="PN987654321BR",
            status="out_for_delivery",
            occurred_at="2026-11-22T08:00:00-03:00",
        ),
        headers=tenant.headers,
    )
    fresh = client.get(path).json()
    assert fresh["status"] == "out_for_delivery"
    assert fresh["timeline"][-1]["status"] == "out_for_delivery"


def test_an_exception_shows_how_far_the_order_got(client: TestClient, tenant: Tenant) -> None:
    order = placed(client, tenant)
    client.post(
        "/api/v1/events",
        json=event_body(
            None,
            carrier="correios",
            tracking_number="PN987654321BR",
            status="delivery_failed",
            occurred_at="2026-11-22T15:00:00-03:00",
        ),
        headers=tenant.headers,
    )
    body = client.get(f"/api/v1/track/{order['tracking_code']}").json()
    assert body["status"] == "delivery_failed"
    reached = {m["status"]: m["reached"] for m in body["milestones"]}
    assert reached == {
        "pending": True,
        "payment_confirmed": True,
        "preparing": True,
        "shipped": True,
        "in_transit": True,
        "out_for_delivery": True,
        "delivered": False,
    }
