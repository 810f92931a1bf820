"""Quiet hours, coalescing and channel choice: pure rules over an injected clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rumbo.notifications.message import Kind
from rumbo.notifications.restraint import (
    Channel,
    Contact,
    Pending,
    Preference,
    QuietHours,
    Reason,
    ShopperPreferences,
    choose_channels,
    coalesce,
    is_quiet,
    release_time,
)

SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # UTC−3, no DST since 2019
MADRID = ZoneInfo("Europe/Madrid")
NIGHT = QuietHours(time(21, 0), time(8, 0))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ------------------------------------------------------------------------------- quiet hours


def test_a_message_due_by_day_goes_at_once() -> None:
    now = utc(2026, 11, 23, 15, 0)  # 12:00 in São Paulo
    assert release_time(now, SAO_PAULO, NIGHT) == now


def test_a_message_due_late_evening_is_held_until_eight_next_morning() -> None:
    now = utc(2026, 11, 24, 1, 30)  # 22:30 on the 23rd in São Paulo
    assert release_time(now, SAO_PAULO, NIGHT) == utc(2026, 11, 24, 11, 0)  # 08:00 local


def test_a_message_due_after_midnight_is_held_until_eight_the_same_morning() -> None:
    now = utc(2026, 11, 24, 5, 0)  # 02:00 local
    assert release_time(now, "America/Sao_Paulo", NIGHT) == utc(2026, 11, 24, 11, 0)


def test_the_window_is_half_open() -> None:
    assert is_quiet(utc(2026, 11, 24, 0, 0), SAO_PAULO, NIGHT)  # 21:00 local: quiet
    assert not is_quiet(utc(2026, 11, 24, 11, 0), SAO_PAULO, NIGHT)  # 08:00 local: allowed


def test_the_release_follows_the_wall_clock_across_a_dst_change() -> None:
    # Madrid leaves summer time on the night of 25 October 2026 (UTC+2 → UTC+1).
    now = utc(2026, 10, 24, 20, 0)  # 22:00 local, summer time
    assert release_time(now, MADRID, NIGHT) == utc(2026, 10, 25, 7, 0)  # 08:00 winter time


def test_a_daytime_window_and_no_window() -> None:
    lunch = QuietHours(time(12, 0), time(14, 0))
    now = utc(2026, 11, 23, 15, 30)  # 12:30 local
    assert release_time(now, SAO_PAULO, lunch) == utc(2026, 11, 23, 17, 0)
    assert release_time(now, SAO_PAULO, QuietHours(time(9), time(9))) == now


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        release_time(datetime(2026, 11, 23, 12), SAO_PAULO, NIGHT)


zones = st.sampled_from(
    ["America/Sao_Paulo", "America/Santiago", "Europe/Madrid", "America/Mexico_City", "UTC"]
)
clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@given(moments, zones, clock_times, clock_times)
def test_release_is_the_first_allowed_moment(
    now: datetime, zone: str, start: time, end: time
) -> None:
    window = QuietHours(start, end)
    released = release_time(now, zone, window)
    assert released >= now
    assert not is_quiet(released, zone, window)
    if released > now:
        assert is_quiet(now, zone, window)
        assert released - now <= timedelta(hours=25)  # held at most one night (+1 h of DST)
        assert is_quiet(released - timedelta(minutes=1), zone, window)


# -------------------------------------------------------------------------------- coalescing

T0 = utc(2026, 11, 23, 13, 0)
WINDOW = timedelta(minutes=10)


def pending(kind: Kind, minutes: float, key: str | None = None) -> Pending:
    return Pending(T0 + timedelta(minutes=minutes), kind, key or kind.value)


def test_shipped_then_in_transit_within_the_window_is_one_message_about_in_transit() -> None:
    shipped, in_transit = pending(Kind.SHIPPED, 0), pending(Kind.IN_TRANSIT, 4)

    [decision] = coalesce([shipped, in_transit], WINDOW)

    assert decision.send == in_transit
    assert decision.superseded == (shipped,)
    assert decision.reason is Reason.SUPERSEDED
    assert decision.send_at == T0 + WINDOW


def test_news_further_apart_than_the_window_goes_separately() -> None:
    decisions = coalesce([pending(Kind.SHIPPED, 0), pending(Kind.IN_TRANSIT, 10)], WINDOW)
    assert [d.send.kind for d in decisions] == [Kind.SHIPPED, Kind.IN_TRANSIT]
    assert all(d.superseded == () for d in decisions)


def test_the_furthest_news_wins_even_if_it_came_first() -> None:
    # A carrier's late "in transit" scan after the courier's proof of delivery.
    delivered, late_scan = pending(Kind.DELIVERED, 0), pending(Kind.IN_TRANSIT, 3)
    [decision] = coalesce([delivered, late_scan], WINDOW)
    assert decision.send == delivered
    assert decision.superseded == (late_scan,)


def test_delivered_makes_arriving_soon_and_may_be_delayed_moot() -> None:
    burst = [
        pending(Kind.MAY_BE_DELAYED, 0),
        pending(Kind.ARRIVING_SOON, 1),
        pending(Kind.OUT_FOR_DELIVERY, 2),
        pending(Kind.DELIVERED, 9),
    ]
    [decision] = coalesce(burst, WINDOW)
    assert decision.send.kind is Kind.DELIVERED
    assert len(decision.superseded) == 3


def test_returned_beats_delivered_as_in_status_derivation() -> None:
    [decision] = coalesce([pending(Kind.RETURNED, 0), pending(Kind.DELIVERED, 1)], WINDOW)
    assert decision.send.kind is Kind.RETURNED


kinds = st.sampled_from(list(Kind))
pendings = st.lists(
    st.builds(
        Pending,
        st.integers(min_value=0, max_value=120).map(lambda m: T0 + timedelta(minutes=m)),
        kinds,
        st.text(alphabet="abc", min_size=1, max_size=3),
    ),
    max_size=12,
)


@given(pendings, st.randoms(use_true_random=False))
@example(  # two kinds that rank alike, at one time, under one key
    [
        Pending(T0, Kind.PAYMENT_CONFIRMED, "a"),
        Pending(T0, Kind.ARRIVAL_WINDOW, "a"),
        Pending(T0, Kind.ARRIVING_SOON, "a"),
    ],
    random.Random(0),
).via("a tie the generator found")
def test_coalescing_does_not_depend_on_arrival_order(
    items: list[Pending], rng: random.Random
) -> None:
    shuffled = list(items)
    rng.shuffle(shuffled)
    assert coalesce(items, WINDOW) == coalesce(shuffled, WINDOW)


@given(pendings)
def test_every_pending_message_is_sent_or_superseded_exactly_once(items: list[Pending]) -> None:
    decisions = coalesce(items, WINDOW)
    accounted = [d.send for d in decisions] + [p for d in decisions for p in d.superseded]
    assert sorted(accounted) == sorted(set(items))
    for decision in decisions:
        assert all(p.kind.precedence <= decision.send.kind.precedence for p in decision.superseded)
        assert decision.send.due_at <= decision.send_at


# ---------------------------------------------------------------------------- channel choice

BOTH = Contact(has_email=True, has_phone=True)
ALL = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)
E, S = Channel.EMAIL, Channel.SMS
ON, OFF, UNSET = Preference.ON, Preference.OFF, Preference.UNSET


def test_with_no_choice_made_email_goes_and_sms_is_a_duplicate() -> None:
    choice = choose_channels(ALL, ShopperPreferences(), BOTH)
    assert choice.send == (E, Channel.WEBHOOK)
    assert choice.suppressed == ((S, Reason.DUPLICATE),)


def test_both_go_only_when_the_shopper_turned_both_on() -> None:
    choice = choose_channels(ALL, ShopperPreferences(email=ON, sms=ON), BOTH)
    assert choice.send == (E, S, Channel.WEBHOOK)
    assert choice.suppressed == ()


def test_the_channel_the_shopper_turned_on_wins_over_an_unset_one() -> None:
    choice = choose_channels((E, S), ShopperPreferences(email=UNSET, sms=ON), BOTH)
    assert choice.send == (S,)
    assert choice.suppressed == ((E, Reason.DUPLICATE),)


def test_an_opted_out_channel_is_never_used() -> None:
    choice = choose_channels((E, S), ShopperPreferences(email=OFF), BOTH)
    assert choice.send == (S,)
    assert choice.suppressed == ((E, Reason.OPTED_OUT),)


def test_missing_contact_data_falls_back_to_the_other_channel() -> None:
    choice = choose_channels((E, S), ShopperPreferences(), Contact(has_email=False, has_phone=True))
    assert choice.send == (S,)
    assert choice.suppressed == ((E, Reason.NO_CONTACT),)


def test_channels_outside_the_rule_are_not_considered() -> None:
    choice = choose_channels((S,), ShopperPreferences(email=ON), BOTH)
    assert choice.send == (S,)
    assert choice.suppressed == ()


def test_nothing_to_send_when_the_shopper_opted_out_of_everything() -> None:
    choice = choose_channels((E, S), ShopperPreferences(email=OFF, sms=OFF), BOTH)
    assert choice.send == ()
    assert {reason for _, reason in choice.suppressed} == {Reason.OPTED_OUT}


prefs = st.sampled_from(list(Preference))


W, P = Channel.WHATSAPP, Channel.PUSH


def test_whatsapp_and_push_go_only_when_turned_on() -> None:
    devices = Contact(has_email=True, has_phone=True, has_push=True)
    choice = choose_channels((E, W, P), ShopperPreferences(), devices)
    assert choice.send == (E,)
    assert set(choice.suppressed) == {(W, Reason.NOT_OPTED_IN), (P, Reason.NOT_OPTED_IN)}


def test_the_chosen_channels_alone_carry_the_news() -> None:
    devices = Contact(has_email=True, has_phone=True, has_push=True)
    choice = choose_channels((E, S, W, P), ShopperPreferences(whatsapp=ON, push=ON), devices)
    assert choice.send == (W, P)
    assert set(choice.suppressed) == {(E, Reason.DUPLICATE), (S, Reason.DUPLICATE)}


def test_push_without_a_subscribed_device_has_no_contact() -> None:
    choice = choose_channels((E, P), ShopperPreferences(push=ON), BOTH)
    assert choice.send == (E,)
    assert choice.suppressed == ((P, Reason.NO_CONTACT),)


@given(
    st.sets(st.sampled_from(list(Channel))),
    st.fixed_dictionaries({c.value: prefs for c in (E, S, W, P)}),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_channel_choice_invariants(
    rule: set[Channel],
    chosen: dict[str, Preference],
    has_email: bool,
    has_phone: bool,
    has_push: bool,
) -> None:
    preferences = ShopperPreferences(**chosen)
    contact = Contact(has_email, has_phone, has_push)
    choice = choose_channels(rule, preferences, contact)
    sent = set(choice.send)
    suppressed = {channel for channel, _ in choice.suppressed}
    assert sent | suppressed == rule  # every rule channel is accounted for …
    assert not sent & suppressed  # … exactly once
    shopper_sent = sent - {Channel.WEBHOOK}
    for channel in shopper_sent:
        assert preferences.of(channel) is not OFF
        assert contact.reaches(channel)
    if len(shopper_sent) > 1:  # more than one channel only when the shopper asked for each
        assert all(preferences.of(c) is ON for c in shopper_sent)
    for channel in shopper_sent & {W, P}:
        assert preferences.of(channel) is ON
    shopper_reachable = [
        c
        for c in (E, S, W, P)
        if c in rule
        and contact.reaches(c)
        and (preferences.of(c) is ON or (c in (E, S) and preferences.of(c) is UNSET))
    ]
    if shopper_reachable:  # the shopper hears about it on at least one channel
        assert shopper_sent
