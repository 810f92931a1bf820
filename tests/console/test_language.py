"""The console speaks the staff member's language: their choice, else their browser's."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumbo.console.pages import LANGUAGE_COOKIE
from rumbo.db import Database
from rumbo.shared.i18n import LANGUAGES, normalize_language
from rumbo.support import service as support
from tests.conftest import NOW, Tenant
from tests.console.conftest import Staff, place, sign_in, signed_in
from tests.factories import event_body


def _lang_of(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.mark.parametrize(
    ("accept_language", "language", "words"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.5", "pt-BR", ("Entrar no painel", "Senha", ">Entrar</button>")),
        ("es-AR,es;q=0.9", "es", ("Iniciar sesión en el panel", "Contraseña", "Saltar al")),
        ("en-GB,en;q=0.8", "en", ("Sign in to the console", "Password", ">Sign in</button>")),
        ("de-DE,fr;q=0.9", "en", ("Sign in to the console", "Password", ">Sign in</button>")),
    ],
)
def test_the_sign_in_page_speaks_the_browsers_language(
    client: TestClient, accept_language: str, language: str, words: tuple[str, ...]
) -> None:
    page = client.get("/console/login", headers={"Accept-Language": accept_language})
    assert page.status_code == 200
    assert _lang_of(page.text) == language
    assert page.headers["content-language"] == language
    for word in words:
        assert word in page.text
    assert LANGUAGE_COOKIE not in page.headers.get("set-cookie", "")


def test_a_failed_sign_in_is_explained_in_the_staff_members_language(
    client: TestClient, agent: Staff
) -> None:
    client.headers["Accept-Language"] = "pt-BR"
    wrong = sign_in(client, agent.email, "not the password")
    assert wrong.status_code == 401
    assert "E-mail ou senha incorretos." in wrong.text
    client.headers["Accept-Language"] = "es"
    assert "no son correctos" in sign_in(client, agent.email, "still wrong").text


def test_the_switcher_keeps_the_choice_over_the_browsers_language(
    client: TestClient, agent: Staff
) -> None:
    client.headers["Accept-Language"] = "pt-BR"
    signed_in(client, agent)
    home = client.get("/console")
    assert _lang_of(home.text) == "pt-BR"
    assert "Atribuídas a você" in home.text
    # The header links to this very page in each language, its query kept.
    queue = client.get("/console/inquiries", params={"status": "resolved", "done": "note"})
    links = dict(re.findall(r'<a href="([^"]+)" hreflang="([^"]+)"', queue.text))
    assert set(links.values()) == set(LANGUAGES)
    spanish = next(url for url, code in links.items() if code == "es")
    assert spanish == "/console/inquiries?status=resolved&amp;lang=es"

    chosen = client.get(spanish.replace("&amp;", "&"))
    assert chosen.status_code == 200
    assert _lang_of(chosen.text) == "es"
    assert "Consultas" in chosen.text
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=es;")
    for attribute in ("HttpOnly", "Path=/console", "SameSite=lax", "Secure", "Max-Age="):
        assert attribute.lower() in cookie.lower()

    # Every later page, without ?lang=, stays in Spanish although the browser asks pt-BR.
    later = client.get("/console")
    assert _lang_of(later.text) == "es"
    assert "Asignadas a ti" in later.text
    assert "set-cookie" not in later.headers
    assert _lang_of(client.get("/console/login").text) == "es"

    # An unknown choice changes nothing; a new one replaces the old.
    assert _lang_of(client.get("/console", params={"lang": "klingon"}).text) == "es"
    assert client.cookies.get(LANGUAGE_COOKIE) == "es"
    client.get("/console", params={"lang": "en"})
    assert client.cookies.get(LANGUAGE_COOKIE) == "en"
    assert "Assigned to you" in client.get("/console").text


def test_labels_dates_and_numbers_follow_the_language(
    client: TestClient, db: Database, tenant: Tenant, admin: Staff
) -> None:
    order = place(client, tenant)
    with db.session() as session:
        inquiry = support.create_inquiry(
            session, tenant.merchant_id, order_id=order["id"], type="delay", source="agent",
            subject="Late parcel", now=NOW,
        )  # fmt: skip
    signed_in(client, admin)
    pages = {
        language: client.get(f"/console/inquiries/{inquiry.id}", params={"lang": language}).text
        for language in LANGUAGES
    }
    assert "Atraso" in pages["pt-BR"]
    assert "Retraso" in pages["es"]
    assert "Delay" in pages["en"]
    assert "23 de nov. de 2026 12:00 UTC" in pages["pt-BR"]
    assert "23 nov 2026 12:00 UTC" in pages["es"]
    assert "Nov 23, 2026 12:00 UTC" in pages["en"]
    for language, word in (("pt-BR", "Aberta"), ("es", "Abierta"), ("en", "Open")):
        assert f'id="inquiry-status">{word}<' in pages[language]
    assert "origem: Atendente" in pages["pt-BR"]
    staff_page = client.get("/console/staff", params={"lang": "es"}).text
    assert "Administrador" in staff_page
    assert "Añadir miembro del equipo" in staff_page
    figures = client.get(
        "/console/analytics", params={"from": "2026-11-01", "to": "2026-12-01", "lang": "pt-BR"}
    ).text
    assert "Análises do atendimento" in figures
    assert re.search(r"<dd>\d+,\d</dd>", figures)  # inquiries per 100 orders, decimal comma


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pt-BR", ("Em trânsito", "risco: Em risco", "5 de dezembro de 2026", "transportadora")),
        ("es", ("En tránsito", "riesgo: En riesgo", "5 de diciembre de 2026", "transportista")),
        ("en", ("In transit", "risk: At risk", "December 5, 2026", "carrier")),
    ],
)
def test_the_order_page_shows_no_raw_keys(
    client: TestClient,
    db: Database,
    tenant: Tenant,
    admin: Staff,
    language: str,
    words: tuple[str, ...],
) -> None:
    from rumbo.models import Order

    order = place(client, tenant)
    client.post(
        "/api/v1/events",
        json=[
            event_body(
                order,
                status="in_transit",
                source="carrier",
                occurred_at="2026-11-22T10:00:00-03:00",
            )
        ],
        headers=tenant.headers,
    )
    with db.session() as session:
        session.get(Order, order["id"]).risk = "at_risk"  # type: ignore[union-attr]
    signed_in(client, admin)
    html = client.get(f"/console/orders/{order['id']}", params={"lang": language}).text
    for word in words:
        assert word in html, word
    for raw in ("in_transit", "at_risk", "on_track", "2026-12-05", "queued", "suppressed"):
        assert f">{raw}<" not in html, raw
        assert f"risk: {raw}" not in html, raw


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lang=st.one_of(st.none(), st.sampled_from(["pt", "PT_br", "es-MX", "EN", "xx", ""]), st.text()),
    cookie=st.one_of(st.none(), st.sampled_from(["es", "pt-BR", "zz"])),
    accept=st.one_of(
        st.none(),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    ),
)
def test_any_language_input_renders_a_page_in_one_of_ours(
    client: TestClient, lang: str | None, cookie: str | None, accept: str | None
) -> None:
    client.cookies.clear()
    if cookie is not None:
        client.cookies.set(LANGUAGE_COOKIE, cookie)
    headers = {"Accept-Language": accept} if accept is not None else {}
    params = {"lang": lang} if lang is not None else {}
    page = client.get("/console/login", params=params, headers=headers)
    assert page.status_code == 200
    assert page.headers["content-language"] in LANGUAGES
    assert _lang_of(page.text) == page.headers["content-language"]
    if accept is None:
        expected = normalize_language(lang) or normalize_language(cookie) or "en"
        assert page.headers["content-language"] == expected


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pt-BR", "Só um administrador pode abrir esta página."),
        ("es", "Solo un administrador puede abrir esta página."),
        ("en", "Only an administrator may open this page."),
    ],
)
def test_an_agent_opening_an_admin_page_gets_a_page_in_their_language(
    client: TestClient, agent: Staff, language: str, words: str
) -> None:
    signed_in(client, agent)
    for path in ("/console/staff", "/console/analytics"):
        page = client.get(path, params={"lang": language}, headers={"Accept": "text/html"})
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert _lang_of(page.text) == language
        assert words in page.text
    # A client that asks for JSON still gets the API's error.
    api = client.get("/console/staff", headers={"Accept": "application/json"})
    assert api.json()["error"]["code"] == "admin_only"
