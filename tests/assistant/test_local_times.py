"""Every time the assistant states is the one the tracking page shows for the same event:
the destination's clock, in Manaus, Recife, São Paulo, Madrid or the Canary Islands."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rumbo.assistant import formatting
from tests.conftest import Tenant
from tests.factories import event_body, order_body

ZONES = [
    ("Manaus", "AM", "BR", "pt-BR"),
    ("Recife", "PE", "BR", "pt-BR"),
    ("São Paulo", "SP", "BR", "pt-BR"),
    ("Madrid", "MD", "ES", "es"),
    ("Las Palmas de Gran Canaria", "CN", "ES", "es"),
]
WHERE = {"pt-BR": "onde está meu pedido?", "es": "¿dónde está mi pedido?"}
WHEN = {"pt-BR": "quando chega meu pedido?", "es": "¿cuándo llega mi pedido?"}
TODAY = {"pt-BR": "deve chegar hoje", "es": "debería llegarte hoy"}


def _order_out_for_delivery(
    client: TestClient, tenant: Tenant, city: str, state: str, country: str, lang: str, at: str
) -> dict[str, Any]:
    body = order_body(
        destination={"line1": "Rua 1", "city": city, "state": state, "country": country},
        customer={"name": "Ana", "email": "ana@example.com", "locale": lang},
    )
    order = client.post("/api/v1/orders", json=body, headers=tenant.headers).json()
    scan = event_body(order, status="out_for_delivery", occurred_at=at, location={"city": city})
    response = client.post("/api/v1/events", json=scan, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return order  # type: ignore[no-any-return]


def _page_moment(client: TestClient, code: str, instant: str) -> tuple[datetime, str]:
    """The local moment and clock time the page shows for the event at ``instant``."""
    page = client.get(f"/t/{code}").text
    wanted = datetime.fromisoformat(instant)
    for iso, text in re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', page):
        local = datetime.fromisoformat(iso)
        if local == wanted:
            return local, text.split("·")[-1].strip()
    raise AssertionError(f"the page shows no time for {instant}")


# 01:40 UTC: still the evening before in Brazil, already the small hours in Spain.
@pytest.mark.parametrize(("city", "state", "country", "lang"), ZONES)
def test_the_assistant_states_the_pages_local_time_and_day(
    client: TestClient, tenant: Tenant, city: str, state: str, country: str, lang: str
) -> None:
    instant = "2026-11-23T01:40:00+00:00"
    order = _order_out_for_delivery(client, tenant, city, state, country, lang, instant)
    local, clock_time = _page_moment(client, order["tracking_code"], instant)
    answer = client.post(
        f"/api/v1/track/{order['tracking_code']}/ask", json={"question": WHERE[lang]}
    ).json()["answer"]
    assert formatting.day(local.date(), lang) in answer, (local, answer)
    stated = set(re.findall(r"\b\d{1,2}:\d{2}\b", answer))
    assert stated == {clock_time}, (clock_time, answer)  # the page's time, no other clock's


@pytest.mark.parametrize(("city", "state", "country", "lang"), ZONES)
def test_out_for_delivery_arrives_today_not_without_a_prediction(
    client: TestClient, tenant: Tenant, city: str, state: str, country: str, lang: str
) -> None:
    # NOW is 12:00 UTC; a scan at 10:30 UTC is this morning in every one of these zones.
    order = _order_out_for_delivery(
        client, tenant, city, state, country, lang, "2026-11-23T10:30:00Z"
    )
    answer = client.post(
        f"/api/v1/track/{order['tracking_code']}/ask", json={"question": WHEN[lang]}
    ).json()["answer"]
    assert TODAY[lang] in answer, answer
    assert "previsão" not in answer, answer
    assert "previsión" not in answer, answer
