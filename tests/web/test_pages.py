"""The shopper's tracking pages: same data as the public API, three languages, the gate."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rumbo.kit.codes import CodeError, parse_tracking_code
from rumbo.shared.i18n import choose_language
from rumbo.web.content import contrast, palette
from tests.conftest import Tenant
from tests.factories import event_body
from tests.web.conftest import place_order

PII = ("Ana Souza", "Paulista", "Camiseta", "01310")


def _form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, "the verify form carries a signed token"
    return match.group(1)


def test_page_tells_the_same_story_as_the_api_without_personal_data(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    api = client.get(f"/api/v1/track/{code}").json()
    page = client.get(f"/t/{code}?lang=en")
    assert page.status_code == 200
    html = page.text
    assert "In transit" in html
    assert "Your order is on its way through the carrier" in html
    assert api["shipments"][0]["tracking_number"] in html
    assert "Correios" in html
    # Local times in the destination's zone (São Paulo, UTC-3) and the city.
    assert "Nov 21, 2026 · 09:00" in html
    assert "Curitiba, PR" in html
    assert "Saturday, December 5, 2026" in html  # promised date
    steps = re.findall(r'<li class="step is-(\w+)"', html)
    assert steps == ["done", "done", "done", "current", "todo", "todo"]
    assert len(re.findall(r'<li class="event', html)) == len(api["timeline"])
    for secret in PII:
        assert secret not in html, secret


@pytest.mark.parametrize(
    ("lang", "status", "history"),
    [
        ("pt-BR", "Em trânsito", "Histórico"),
        ("es", "En tránsito", "Historial"),
        ("en", "In transit", "History"),
    ],
)
def test_page_speaks_the_chosen_language(
    client: TestClient, tenant: Tenant, lang: str, status: str, history: str
) -> None:
    order = place_order(client, tenant)
    page = client.get(f"/t/{order['tracking_code']}?lang={lang}")
    assert f'<html lang="{lang}">' in page.text
    assert status in page.text
    assert history in page.text
    assert page.headers["content-language"] == lang


def test_language_comes_from_query_then_customer_then_accept_language() -> None:
    assert choose_language("es", "pt-BR", "en") == "es"
    assert choose_language(None, "pt-BR", "es") == "pt-BR"
    assert choose_language("xx", None, "fr;q=1, es-MX;q=0.8, en;q=0.5") == "es"
    assert choose_language(None, None, None) == "en"


def test_customer_locale_picks_the_page_language(client: TestClient, tenant: Tenant) -> None:
    order = place_order(client, tenant)  # the factory's customer speaks pt-BR
    page = client.get(f"/t/{order['tracking_code']}", headers={"Accept-Language": "es"})
    assert '<html lang="pt-BR">' in page.text


def test_pages_send_security_headers_without_inline_code(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    page = client.get(f"/t/{order['tracking_code']}")
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
    assert "'nonce-" not in csp
    assert "<style" not in page.text  # colours come from /theme/
    assert "<script>" not in page.text  # scripts only from /static
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    css = client.get("/static/rumbo.css")
    assert css.status_code == 200
    assert css.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/live.js").status_code == 200


def test_store_branding_is_applied_and_a_bad_colour_never_reaches_css(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.patch(
        "/api/v1/merchant",
        json={
            "accent_color": "#FFD400",
            "support_email": "ajuda@aurora.example",
            "support_phone": "+55 11 4000-1234",
            "support_url": "https://aurora.example/ajuda",
            "logo_url": "https://aurora.example/logo.png",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    order = place_order(client, tenant)
    client.app.state.public_views.ttl = 0  # type: ignore[attr-defined]
    html = client.get(f"/t/{order['tracking_code']}?lang=en").text
    assert '<link rel="stylesheet" href="/theme/ffd400.css">' in html
    assert ":root{--accent:#ffd400;" in client.get("/theme/ffd400.css").text
    # A logo on another origin is not loaded: no third party sees who tracks an order.
    assert "aurora.example/logo.png" not in html
    assert "mailto:ajuda@aurora.example" in html
    assert "tel:+5511" in html
    # A yellow accent is too light for text: it is darkened until it reads on white.
    assert palette("#FFD400").on_accent == "#111111"
    assert contrast(palette("#FFD400").accent_text, "#ffffff") >= 4.5
    assert palette("red;}</style><script>").accent == "#0b6e4f"


def test_exceptions_are_explained_in_shopper_words(client: TestClient, tenant: Tenant) -> None:
    order = place_order(client, tenant)
    client.post(
        "/api/v1/events",
        json=[
            event_body(
                None,
                carrier="correios",
                tracking_number="PN987654321BR",
                status="delivery_failed",
                occurred_at="2026-11-22T15:00:00-03:00",
            )
        ],
        headers=tenant.headers,
    )
    es = client.get(f"/t/{order['tracking_code']}?lang=es").text
    assert "Intento de entrega fallido" in es
    assert "Qué pasó" in es
    assert "el siguiente día hábil" in es


def test_split_orders_show_each_parcel(client: TestClient, tenant: Tenant) -> None:
    order = place_order(client, tenant)
    client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        json={"carrier": "jadlog", "tracking_number": "JD1234567890"},
        headers=tenant.headers,
    )
    html = client.get(f"/t/{order['tracking_code']}?lang=en").text
    assert "Your order comes in 2 parcels" in html
    assert "Parcel 1 of 2" in html
    assert "Parcel 2 of 2" in html
    assert "JD1234567890" in html
    assert "PN987654321BR" in html


def test_code_form_catches_a_typo_with_the_codes_message(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    with pytest.raises(CodeError) as caught:
        parse_tracking_code(typo)
    page = client.get("/", params={"code": typo, "lang": "en"}, follow_redirects=False)
    assert page.status_code == 422
    assert str(caught.value) in page.text
    assert 'aria-invalid="true"' in page.text
    good = client.get("/", params={"code": code.lower()}, follow_redirects=False)
    assert good.status_code == 303
    assert good.headers["location"] == f"/t/{code}"


def test_unknown_or_mistyped_codes_get_a_friendly_404(client: TestClient) -> None:
    assert client.get("/t/ABC?lang=es").status_code == 404
    assert (
        "Un código de seguimiento tiene 13 caracteres; este tiene 3."
        in client.get("/t/ABC?lang=es").text
    )
    unknown = "0000000000000"
    page = client.get(f"/t/{unknown}?lang=en")
    assert page.status_code == 404
    assert "No order has this tracking code." in page.text


def test_privacy_gate_form_unlocks_details_with_a_safe_cookie(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    page = client.get(f"/t/{code}?lang=en")
    token = _form_token(page.text)
    wrong = client.post(
        f"/t/{code}/verify?lang=en", data={"answer": "99999-999", "form_token": token}
    )
    assert wrong.status_code == 403
    assert "That does not match this order." in wrong.text
    assert "Ana Souza" not in wrong.text
    right = client.post(
        f"/t/{code}/verify?lang=en",
        data={"answer": "01310100", "form_token": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert f"rumbo_t_{code}=" in cookie
    for flag in ("HttpOnly", "SameSite=lax", f"Path=/t/{code}", "Max-Age=1800"):
        assert flag.lower() in cookie.lower(), flag
    assert "secure" not in cookie.lower()  # base_url is http in tests
    detail = client.get(f"/t/{code}?lang=en").text
    for secret in ("Ana Souza", "Av. Paulista, 1000", "Camiseta"):
        assert secret in detail
    fragment = client.get(f"/t/{code}/fragment?lang=en")
    assert fragment.status_code == 200
    assert "In transit" in fragment.text


def test_verify_form_refuses_other_origins_and_missing_tokens(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    token = _form_token(client.get(f"/t/{code}").text)
    foreign = client.post(
        f"/t/{code}/verify",
        data={"answer": "01310100", "form_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    forged = client.post(
        f"/t/{code}/verify",
        data={"answer": "01310100", "form_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


def test_too_many_wrong_answers_are_refused_politely(client: TestClient, tenant: Tenant) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    token = _form_token(client.get(f"/t/{code}").text)
    for _ in range(10):
        client.post(f"/t/{code}/verify", data={"answer": "00000-000", "form_token": token})
    limited = client.post(
        f"/t/{code}/verify?lang=pt-BR", data={"answer": "01310100", "form_token": token}
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Muitas tentativas" in limited.text
    # The API and the page share one limit.
    api = client.post(f"/api/v1/track/{code}/verify", json={"postal_code": "01310100"})
    assert api.status_code == 429


def test_cookie_is_secure_when_rumbo_is_served_over_https(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    client.app.state.settings.base_url = "https://track.aurora.example"  # type: ignore[attr-defined]
    token = _form_token(client.get(f"/t/{code}").text)
    right = client.post(
        f"/t/{code}/verify",
        data={
            "answer": f"ana{order['id']}@example.com".replace(str(order["id"]), "x"),
            "form_token": token,
        },
        follow_redirects=False,
    )
    assert right.status_code == 403  # a wrong e-mail; now the right postal code:
    right = client.post(
        f"/t/{code}/verify",
        data={"answer": "01310-100", "form_token": token},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert "secure" in right.headers["set-cookie"].lower()


def test_language_links_on_a_form_error_lead_back_to_the_page(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    token = _form_token(client.get(f"/t/{code}").text)
    wrong = client.post(f"/t/{code}/verify", data={"answer": "1", "form_token": token})
    assert f'href="/t/{code}?lang=es"' in wrong.text
    typo = client.get("/", params={"code": "ABC"})
    assert 'href="/?code=ABC&amp;lang=es"' in typo.text


def test_a_description_that_only_names_the_status_is_not_repeated(
    client: TestClient, tenant: Tenant
) -> None:
    order = place_order(client, tenant)
    carrier = {"source": "carrier"}
    events = [
        event_body(order, status="out_for_delivery", description="Out for delivery",
                   occurred_at="2026-11-22T08:00:00-03:00", **carrier),
        event_body(order, status="delivered", description="Objeto entregue ao destinatário",
                   occurred_at="2026-11-22T15:00:00-03:00", **carrier),
    ]  # fmt: skip
    assert client.post("/api/v1/events", json=events, headers=tenant.headers).status_code < 300
    html = client.get(f"/t/{order['tracking_code']}?lang=pt-BR").text
    said = re.findall(r'<p class="event-text">([^<]*)</p>', html)
    assert "Out for delivery" not in said  # "Saiu para entrega" above says it already
    assert "Objeto entregue ao destinatário" in said  # the carrier's own words stay


def test_only_the_anonymous_view_may_be_kept_by_a_cache(client: TestClient, tenant: Tenant) -> None:
    order = place_order(client, tenant)
    code = order["tracking_code"]
    page = client.get(f"/t/{code}?lang=en")
    # The installed page's offline copy: kept, revalidated on every visit.
    assert page.headers["cache-control"] == "private, no-cache"
    assert client.get(f"/t/{code}/fragment").headers["cache-control"] == "private, no-cache"
    right = client.post(
        f"/t/{code}/verify?lang=en",
        data={"answer": "01310100", "form_token": _form_token(page.text)},
        headers={"Origin": "http://testserver"},
    )
    assert right.status_code == 200
    assert "Ana Souza" in right.text
    # Past the gate: no cache, the browser's or the service worker's, may write it down.
    assert right.headers["cache-control"] == "no-store, private"
    fragment = client.get(f"/t/{code}/fragment?lang=en")
    assert fragment.headers["cache-control"] == "no-store, private"
    # The same address without the gate's cookie is the anonymous view again.
    client.cookies.clear()
    again = client.get(f"/t/{code}?lang=en")
    assert again.headers["cache-control"] == "private, no-cache"
    assert not any(secret in again.text for secret in PII)
