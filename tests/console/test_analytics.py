"""/console/analytics: the logistics report and the support figures of a range, for the
signed-in admin's store only, in the console's language, under the console's strict CSP."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumbo.db import Database
from rumbo.eta.store import import_histories
from tests.analytics.test_lanes_and_weeks import slow_lane_history
from tests.conftest import NOW, Tenant
from tests.console.conftest import Staff, make_staff, signed_in

RANGE = {"from": "2026-01-01", "to": "2026-03-01"}


@pytest.fixture
def history(db: Database, tenant: Tenant, other_tenant: Tenant) -> None:
    """Our store: the 120-order history whose only slow part is SP>BA transit. The other
    store: its first 30 orders, so any leak across stores changes every count."""
    orders = slow_lane_history()
    for merchant_id, part in (
        (tenant.merchant_id, orders),
        (other_tenant.merchant_id, orders[:30]),
    ):
        summary = import_histories(db, merchant_id, part, NOW)
        assert summary.events_rejected == 0


def figure(html: str, name: str) -> str:
    found = re.search(rf'<dd id="{name}">([^<]*)<', html)
    assert found, f"no {name} on the page"
    return found.group(1).strip()


def table_rows(html: str, table_id: str) -> list[str]:
    """The row headers (or first cells) of a report table's body, in order."""
    start = html.index(f'id="{table_id}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return re.findall(r"<tr><t[hd][^>]*>([^<]*)<", body)


def test_admin_sees_the_logistics_report_of_their_store_beside_the_support_figures(
    client: TestClient, history: None, admin: Staff
) -> None:
    signed_in(client, admin)
    response = client.get("/console/analytics", params=RANGE)
    assert response.status_code == 200
    html = response.text
    # Only this store's 120 orders, not the other store's 30.
    assert figure(html, "rr-orders") == "120"
    assert figure(html, "rr-delivered") == "120"
    assert figure(html, "rr-on-time") == "83.3%"
    assert figure(html, "fig-orders") == "120"
    # The slow lane's transit is the first bottleneck.
    body = html[html.index("<tbody>", html.index('id="rr-bottlenecks"')) :]
    first_row = body[: body.index("</tr>")]
    assert "Transit" in first_row
    assert "SP&gt;BA" in first_row
    # Charts drawn on the server, and both parts reachable from the page's tabs.
    assert html.count('<svg class="chart" role="img"') >= 4
    assert "Lane heat map: median delivery days" in html
    assert 'href="#logistics-report"' in html
    assert 'id="logistics-report"' in html
    assert 'href="#support-analytics"' in html
    assert 'id="support-analytics"' in html
    # The range is kept in the form.
    assert 'name="from" value="2026-01-01"' in html
    assert 'name="to" value="2026-03-01"' in html


def test_the_other_store_sees_only_its_own_orders(
    client: TestClient, db: Database, history: None, other_tenant: Tenant
) -> None:
    theirs = make_staff(db, other_tenant.merchant_id, "ops@other.example", "admin")
    signed_in(client, theirs)
    html = client.get("/console/analytics", params=RANGE).text
    assert figure(html, "rr-orders") == "30"
    assert figure(html, "fig-orders") == "30"


@pytest.mark.parametrize(
    ("group_by", "heading", "groups"),
    [
        ("carrier", "By carrier", {"jadlog", "loggi"}),
        ("lane", "By lane", {"MG&gt;RJ", "MG&gt;BA", "SP&gt;BA"}),
        ("seller", "By seller", {"A", "B", "C", "D"}),
        ("state", "By destination state", {"BA", "RJ"}),
    ],
)
def test_group_by_switches_the_grouped_table(
    client: TestClient, history: None, admin: Staff, group_by: str, heading: str, groups: set[str]
) -> None:
    signed_in(client, admin)
    html = client.get("/console/analytics", params={**RANGE, "group_by": group_by}).text
    assert f'<h2 id="rr-groups-title">{heading}</h2>' in html
    assert set(table_rows(html, "rr-groups")) == groups
    assert f'<option value="{group_by}" selected>' in html


def test_the_page_keeps_the_strict_csp_and_loads_only_its_own_files(
    client: TestClient, history: None, admin: Staff
) -> None:
    signed_in(client, admin)
    response = client.get("/console/analytics", params=RANGE)
    csp = response.headers["content-security-policy"]
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = response.text
    assert "<script" not in html
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"""(?:src|href)=["']?https?:""", html)
    assert '<link rel="stylesheet" href="/static/analytics.css">' in html
    assert client.get("/static/analytics.css").status_code == 200


def test_agents_do_not_see_store_wide_analytics(
    client: TestClient, history: None, agent: Staff
) -> None:
    signed_in(client, agent)
    assert client.get("/console/analytics", params=RANGE).status_code == 403
    assert 'href="/console/analytics"' not in client.get("/console").text


def test_the_page_speaks_spanish(client: TestClient, history: None, admin: Staff) -> None:
    signed_in(client, admin)
    html = client.get("/console/analytics", params={**RANGE, "lang": "es"}).text
    assert '<html lang="es">' in html
    for label in (
        "Informe logístico",
        "Cuellos de botella",
        "Preparación",  # the warehouse stage; the console's support "Handling" is "Gestión"
        "Tránsito",
        "Última milla",
        "Puntualidad por semana de compra",
        "Cuánto tarda cada etapa",  # drawn into the chart
        "Por transportista",
        "Analítica de atención al cliente",
    ):
        assert label in html, label
    assert figure(html, "rr-on-time") == "83,3%"
    for english in ("Bottlenecks", "Last mile", "How long each stage takes", "By carrier"):
        assert english not in html, english


@pytest.mark.parametrize(
    "params",
    [
        {"from": "soon"},
        {"to": "2026-02-30"},
        {"from": "2026-03-01", "to": "2026-01-01"},
        {"from": "2026-01-01", "to": "2026-01-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
        {**RANGE, "group_by": "planet"},
    ],
)
def test_bad_ranges_and_groupings_are_refused_with_a_json_error(
    client: TestClient, admin: Staff, params: dict[str, str]
) -> None:
    signed_in(client, admin)
    response = client.get("/console/analytics", params=params)
    assert response.status_code == 422
    assert set(response.json()["error"]) >= {"code", "message"}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.one_of(st.none(), st.text(max_size=12), st.dates().map(str)),
    end=st.one_of(st.none(), st.text(max_size=12), st.dates().map(str)),
    group_by=st.one_of(st.none(), st.text(max_size=10), st.sampled_from(["lane", "state"])),
)
def test_any_query_gets_a_page_or_a_4xx_never_a_500(
    client: TestClient,
    admin: Staff,
    start: str | None,
    end: str | None,
    group_by: str | None,
) -> None:
    signed_in(client, admin)
    params = {
        k: v for k, v in (("from", start), ("to", end), ("group_by", group_by)) if v is not None
    }
    response = client.get("/console/analytics", params=params)
    assert response.status_code in (200, 422), (params, response.text[:300])
