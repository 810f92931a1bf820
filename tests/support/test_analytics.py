"""Support analytics on a small synthetic set whose answers are known by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from rumbo.db import Database
from rumbo.kit.clock import FixedClock
from rumbo.support import service
from rumbo.support.analytics import quantile, support_figures
from tests.conftest import NOW, Tenant
from tests.support.conftest import new_order

H = timedelta(hours=1)


def _build(client: TestClient, db: Database, tenant: Tenant) -> None:
    orders = [new_order(client, tenant) for _ in range(8)]  # placed 2026-11-20
    new_order(client, tenant, placed_at="2026-10-01T10:00:00-03:00")  # outside the range
    m = tenant.merchant_id
    with db.session() as session:

        def open_(type_: str, source: str, at: object, **extra: object) -> int:
            return service.create_inquiry(
                session,
                m,
                order_id=orders[0]["id"],
                type=type_,  # type: ignore[arg-type]
                source=source,  # type: ignore[arg-type]
                subject="x",
                now=at,  # type: ignore[arg-type]
                **extra,  # type: ignore[arg-type]
            ).id

        a = open_("delay", "api", NOW, message="Atrasou")  # a conversation, but no assistant
        b = open_("delay", "agent", NOW)
        open_("return", "api", NOW + 4 * H)  # d: stays open
        service.reply(session, m, a, text="ok", now=NOW + 1 * H)
        service.update_inquiry(session, m, a, status="resolved", now=NOW + 10 * H)
        service.reply(session, m, b, text="ok", now=NOW + 3 * H)
        service.update_inquiry(session, m, b, status="resolved", now=NOW + 20 * H)
    code = orders[1]["tracking_code"]
    for question in ("cadê meu pedido?", "onde está meu pedido?", "quero falar com um atendente"):
        response = client.post(f"/api/v1/track/{code}/ask", json={"question": question})
        assert response.status_code == 200
    # c: the handover's inquiry (type "other", source "assistant"), opened at NOW, still open.


def test_known_answers(client: TestClient, db: Database, tenant: Tenant) -> None:
    _build(client, db, tenant)
    with db.session(write=False) as session:
        f = support_figures(
            session, tenant.merchant_id, date(2026, 11, 1), date(2026, 12, 1), NOW + 24 * H
        )
    assert (f.orders, f.inquiries, f.inquiries_per_100_orders) == (8, 4, 50.0)
    assert f.by_type == {"delay": 2, "other": 1, "return": 1}
    assert f.by_source == {"agent": 1, "api": 2, "assistant": 1}
    assert (f.assistant_conversations, f.answered_without_agent) == (3, 2)
    assert f.share_without_agent == 0.6667
    assert (f.first_response.count, f.first_response.p50_hours, f.first_response.p90_hours) == (
        2,
        2.0,
        2.8,
    )
    assert (f.resolution.count, f.resolution.p50_hours, f.resolution.p90_hours) == (2, 15.0, 19.0)
    assert (f.open_backlog, f.backlog_oldest_hours, f.backlog_p50_age_hours) == (2, 24.0, 22.0)


def test_an_empty_range_has_no_rates(client: TestClient, db: Database, tenant: Tenant) -> None:
    _build(client, db, tenant)
    with db.session(write=False) as session:
        f = support_figures(session, tenant.merchant_id, date(2025, 1, 1), date(2025, 2, 1), NOW)
    assert (f.orders, f.inquiries, f.inquiries_per_100_orders, f.share_without_agent) == (
        0,
        0,
        None,
        None,
    )
    assert f.first_response.p50_hours is None
    assert f.open_backlog == 2  # the backlog is now, whatever the range


def test_over_http_and_scoped_to_the_merchant(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, clock: FixedClock
) -> None:
    _build(client, db, tenant)
    clock.advance(24 * H)
    params = {"from": "2026-11-01", "to": "2026-12-01"}
    mine = client.get("/api/v1/analytics/support", params=params, headers=tenant.headers)
    assert mine.status_code == 200
    assert mine.json()["inquiries_per_100_orders"] == 50.0
    assert mine.json()["first_response"] == {"count": 2, "p50_hours": 2.0, "p90_hours": 2.8}
    theirs = client.get("/api/v1/analytics/support", params=params, headers=other_tenant.headers)
    assert (theirs.json()["inquiries"], theirs.json()["open_backlog"]) == (0, 0)


@pytest.mark.parametrize(
    "params",
    [{"from": "2026-12-01", "to": "2026-11-01"}, {"from": "yesterday"}, {"from": "2000-01-01"}],
)
def test_bad_ranges_are_422(client: TestClient, tenant: Tenant, params: dict[str, str]) -> None:
    response = client.get("/api/v1/analytics/support", params=params, headers=tenant.headers)
    assert response.status_code == 422
    assert "error" in response.json()


def test_quantile_matches_linear_interpolation() -> None:
    assert quantile([], 0.5) is None
    assert quantile([5.0], 0.9) == 5.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.9) == pytest.approx(3.7)
