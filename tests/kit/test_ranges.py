"""One date range rule for every figures request: defaults, order and length."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rumbo.errors import RumboError
from rumbo.kit.ranges import DEFAULT_DAYS, date_range
from tests.conftest import Tenant

TODAY = date(2026, 11, 23)


def test_defaults_are_the_last_days_up_to_tomorrow() -> None:
    assert date_range(None, None, TODAY) == (date(2026, 8, 25), date(2026, 11, 24))
    assert (date(2026, 11, 24) - date(2026, 8, 25)).days == DEFAULT_DAYS


@given(st.dates(), st.dates() | st.none(), st.integers(min_value=1, max_value=2000))
def test_any_dates_give_a_valid_range_or_a_422(
    start: date, end: date | None, max_days: int
) -> None:
    try:
        first, last = date_range(start, end, TODAY, max_days=max_days)
    except RumboError as exc:
        refused = exc
    else:
        assert first < last
        assert (last - first).days <= max_days
        return
    assert refused.status_code == 422


def test_a_range_before_any_day_is_a_422_not_an_overflow(
    client: TestClient, tenant: Tenant
) -> None:
    for path in ("/api/v1/analytics/support", "/api/v1/analytics/overview"):
        response = client.get(path, params={"to": "0001-01-01"}, headers=tenant.headers)
        assert response.status_code == 422, path
        assert response.json()["error"]["code"] == "validation_error"
