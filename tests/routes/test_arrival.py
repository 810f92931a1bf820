"""Live arrival windows: from the plan before the courier sets off, from the courier's
progress after; only behind the privacy gate; unchanged by a duplicate position."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from rumbo.routes.planning import live_window
from tests.conftest import NOW, Tenant
from tests.routes.conftest import DEPOT, couriers, depot, parcel


def test_live_window_narrows_as_the_courier_approaches() -> None:
    predicted = datetime(2026, 11, 23, 17, 22, tzinfo=UTC)
    far = live_window(predicted, predicted - timedelta(hours=3))
    near = live_window(predicted, predicted - timedelta(minutes=20))
    for start, end in (far, near):
        assert start <= predicted <= end
        assert end - start <= timedelta(minutes=60)
        assert start.minute % 5 == 0
        assert end.minute % 5 == 0
    assert near[1] - near[0] < far[1] - far[0]


def _day(client: TestClient, tenant: Tenant) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    depot_id = depot(client, tenant)
    places = [(DEPOT[0] + 0.01 * i, DEPOT[1] + 0.004 * i) for i in range(1, 6)]
    orders = [parcel(client, tenant, where) for where in places]
    shifts = couriers(client, tenant, 1)
    shifts[0]["starts_at"] = "2026-11-23T08:30:00-03:00"  # under way at the suite's 09:00
    plan = client.post(
        "/api/v1/routes/plans",
        json={"depot_id": depot_id, "day": "2026-11-23", "shifts": shifts},
        headers=tenant.headers,
    ).json()
    return plan, orders


def _private(client: TestClient, code: str) -> Any:
    token = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "05405-000"}).json()[
        "token"
    ]
    return client.get(f"/api/v1/track/{code}", headers={"X-Tracking-Token": token}).json()[
        "private"
    ]


def _window(arrival: dict[str, str]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(arrival["window_start"]), datetime.fromisoformat(
        arrival["window_end"]
    )


def _delivered(client: TestClient, tenant: Tenant, number: str) -> None:
    event = {
        "event_id": f"delivered-{number}",
        "source": "carrier",
        "carrier": "correios",
        "tracking_number": number,
        "status": "delivered",
        "occurred_at": (NOW - timedelta(minutes=10)).isoformat(),
    }
    assert client.post("/api/v1/events", json=[event], headers=tenant.headers).status_code < 300


def _fix(client: TestClient, device_id: str, where: tuple[float, float], at: datetime) -> None:
    url = f"/osmand?id={device_id}&lat={where[0]}&lon={where[1]}&timestamp={int(at.timestamp())}"
    assert client.get(url).status_code == 200


def test_window_is_shown_only_after_the_gate_and_follows_the_courier(
    client: TestClient, tenant: Tenant
) -> None:
    plan, orders = _day(client, tenant)
    courier = plan["couriers"][0]
    last = courier["stops"][-1]
    order = next(o for o in orders if o["shipment_id"] == last["shipment_id"])
    code = order["tracking_code"]

    public = client.get(f"/api/v1/track/{code}").json()
    assert public["private"] is None
    assert "window" not in client.get(f"/api/v1/track/{code}").text
    page = client.get(f"/t/{code}?lang=en").text
    assert "Stop 5 of 5" not in page

    before = _private(client, code)["arrival"]
    assert (before["stop"], before["stops"]) == (5, 5)
    assert before["window_start"] == last["window_start"]

    # The first three are delivered; the courier is seen at the fourth stop, delivers it,
    # then is seen at the fifth's door: the window now comes from that progress, and narrows.
    numbers = {o["shipment_id"]: o["tracking_number"] for o in orders}
    for stop in courier["stops"][:3]:
        _delivered(client, tenant, numbers[stop["shipment_id"]])
    fourth = courier["stops"][3]
    _fix(client, courier["device_id"], (fourth["lat"], fourth["lon"]), NOW - timedelta(minutes=3))
    farther = _window(_private(client, code)["arrival"])
    _delivered(client, tenant, numbers[fourth["shipment_id"]])
    _fix(
        client, courier["device_id"], (last["lat"], last["lon"] + 0.001), NOW - timedelta(minutes=1)
    )
    live = _private(client, code)["arrival"]
    assert (live["stop"], live["stops"]) == (5, 5)
    nearer = _window(live)
    assert nearer[1] - nearer[0] < farther[1] - farther[0] <= timedelta(minutes=60)
    assert nearer[0] <= NOW <= nearer[1]

    # The same position again changes neither the window nor the plan.
    _fix(
        client, courier["device_id"], (last["lat"], last["lon"] + 0.001), NOW - timedelta(minutes=1)
    )
    assert _private(client, code)["arrival"] == live
    again = client.get(f"/api/v1/routes/plans/{plan['id']}", headers=tenant.headers).json()
    assert again == plan


def test_tracking_page_says_which_stop_and_when_after_the_gate(
    client: TestClient, tenant: Tenant
) -> None:
    plan, orders = _day(client, tenant)
    first = plan["couriers"][0]["stops"][0]
    code = next(o for o in orders if o["shipment_id"] == first["shipment_id"])["tracking_code"]
    for lang, words in (
        ("en", "Stop 1 of 5 — between"),
        ("pt-BR", "Parada 1 de 5 — entre"),
        ("es", "Parada 1 de 5 — entre las"),
    ):
        page = client.get(f"/t/{code}?lang={lang}")
        assert words not in page.text
        token = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert token
        client.post(
            f"/t/{code}/verify?lang={lang}",
            data={"answer": "05405-000", "form_token": token.group(1)},
            headers={"Origin": "http://testserver"},
        )
        unlocked = client.get(f"/t/{code}?lang={lang}").text
        assert words in unlocked, lang
        client.cookies.clear()


def test_assistant_answers_when_with_the_window_only_to_a_verified_visitor(
    client: TestClient, tenant: Tenant
) -> None:
    plan, orders = _day(client, tenant)
    first = plan["couriers"][0]["stops"][0]
    code = next(o for o in orders if o["shipment_id"] == first["shipment_id"])["tracking_code"]
    question = {"question": "when will it arrive?", "lang": "en"}
    anonymous = client.post(f"/api/v1/track/{code}/ask", json=question).json()["answer"]
    assert "between" not in anonymous
    token = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "05405-000"}).json()[
        "token"
    ]
    verified = client.post(
        f"/api/v1/track/{code}/ask", json=question, headers={"X-Tracking-Token": token}
    ).json()["answer"]
    arrival = _private(client, code)["arrival"]
    start = datetime.fromisoformat(arrival["window_start"]).astimezone(
        ZoneInfo("America/Sao_Paulo")
    )
    assert "between" in verified
    assert start.strftime("%H:%M").lstrip("0") in verified or start.strftime("%H:%M") in verified
