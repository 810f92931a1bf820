"""A promise is a calendar day on the shopper's clock, for the store and for us alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from rumbo.eta.days import day_end, day_start, history_zone, shopper_day, shopper_zone
from rumbo.eta.history import generate_history
from rumbo.eta.model import late_after_promise

SAO_PAULO = history_zone("BR")
ZONES = [shopper_zone("BR", uf) for uf in ("SP", "AM", "AC", "BA", "MT")]


def test_the_day_is_read_where_the_parcel_arrives() -> None:
    manaus = shopper_zone("BR", "AM")
    # 00:30 in São Paulo is still the evening before in Manaus (UTC-4 vs UTC-3).
    moment = datetime(2024, 3, 5, 0, 30)
    assert shopper_day(moment, SAO_PAULO, SAO_PAULO) == date(2024, 3, 5)
    assert shopper_day(moment, SAO_PAULO, manaus) == date(2024, 3, 4)
    assert day_end(date(2024, 3, 4), SAO_PAULO, manaus) == datetime(2024, 3, 5, 0, 59, 59)


@given(
    day=st.dates(date(2016, 1, 1), date(2030, 12, 31)),
    shopper=st.sampled_from(ZONES),
)
def test_a_day_runs_from_its_start_to_its_last_second(day: date, shopper: ZoneInfo) -> None:
    start, end = day_start(day, SAO_PAULO, shopper), day_end(day, SAO_PAULO, shopper)
    assert shopper_day(start, SAO_PAULO, shopper) == day
    assert shopper_day(end, SAO_PAULO, shopper) == day
    assert shopper_day(start - timedelta(seconds=1), SAO_PAULO, shopper) == day - timedelta(1)
    assert shopper_day(end + timedelta(seconds=1), SAO_PAULO, shopper) == day + timedelta(1)


def test_the_store_is_late_only_once_its_promised_day_has_ended_for_the_shopper() -> None:
    order = next(h for h in generate_history(200, seed=3) if h.delivered_at and h.promised_at)
    promised = datetime(2024, 6, 10)
    in_sp = replace(order, customer_state="SP", promised_at=promised)
    assert late_after_promise(replace(in_sp, delivered_at=datetime(2024, 6, 10, 23, 50))) is False
    assert late_after_promise(replace(in_sp, delivered_at=datetime(2024, 6, 11, 0, 10))) is True
    # 00:30 on the 11th in São Paulo is 23:30 on the 10th in Manaus: kept.
    in_am = replace(order, customer_state="AM", promised_at=promised)
    assert late_after_promise(replace(in_am, delivered_at=datetime(2024, 6, 11, 0, 30))) is False
    assert late_after_promise(replace(in_am, delivered_at=None)) is None
