"""The vectorised figures agree with the plain definitions, whatever the input's shape."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rumbo.analytics.frame import EPOCH, GroupBy, Labels, OrderFrame, Stage, _local_days
from rumbo.analytics.service import _group_quantiles, bottlenecks, histograms
from rumbo.kit.timezones import zone_for

durations = st.one_of(st.floats(0, 60, allow_nan=False), st.just(float("nan")))
rows = st.lists(st.tuples(st.integers(-1, 4), durations), max_size=80)


@given(rows, st.sampled_from([0.1, 0.5, 0.9]))
def test_group_quantiles_match_numpy_per_group(pairs: list[tuple[int, float]], q: float) -> None:
    codes = np.array([c for c, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.float64)
    got = _group_quantiles(codes, values, 5, [q])[:, 0]
    presorted = _group_quantiles(codes, values, 5, [q], np.argsort(values, kind="stable"))[:, 0]
    np.testing.assert_array_equal(got, presorted)
    for group in range(5):
        mine = values[(codes == group) & ~np.isnan(values)]
        if len(mine):
            assert np.isclose(got[group], np.quantile(mine, q))
        else:
            assert np.isnan(got[group])


@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=60))
def test_labels_number_the_distinct_names_in_sorted_order(values: list[str | None]) -> None:
    labels = Labels.of(values)
    assert labels.names == sorted({v for v in values if v})
    decoded = [labels.names[c] if c >= 0 else None for c in labels.codes]
    assert decoded == [v or None for v in values]
    assert labels.codes.dtype == np.int64
    assert len(labels.codes) == len(values)


PLACES = ["ES/", "CL/", "BR/SP", "BR/AM", "/", "MX/ROO"]
# Whole minutes and a half (never exactly a midnight) over 2024-2025, DST changes included.
moments = st.one_of(
    st.integers(19723 * 1440, 20454 * 1440).map(lambda m: (m * 60 + 30) / 86400),
    st.just(float("nan")),
)


@given(st.lists(st.tuples(moments, st.integers(-1, len(PLACES) - 1)), max_size=60))
# Chile left summer time at 2024-04-07 03:00 UTC: 03:30 UTC was 23:30 on the 6th there.
@example([((datetime(2024, 4, 7, 3, 30, 30, tzinfo=UTC).timestamp()) / 86400, 1)])
def test_local_days_match_converting_each_moment(pairs: list[tuple[float, int]]) -> None:
    values = np.array([m for m, _ in pairs], dtype=np.float64)
    zones = np.array([z for _, z in pairs], dtype=np.int64)
    got = _local_days(values, zones, PLACES)
    for moment, zone, day in zip(values, zones, got, strict=True):
        if np.isnan(moment):
            assert day == -1
            continue
        country, _, state = (PLACES[zone] if zone >= 0 else "/").partition("/")
        local = datetime.fromtimestamp(moment * 86400, UTC).astimezone(
            zone_for(country or None, state or None)
        )
        assert day == (local.date() - EPOCH).days


def frame_of(pairs: list[tuple[int, float]]) -> OrderFrame:
    n = len(pairs)
    labels = Labels(np.array([c for c, _ in pairs], dtype=np.int64), ["a", "b", "c", "d", "e"])
    days = np.array([v for _, v in pairs], dtype=np.float64)
    nothing = np.full(n, np.nan)
    return OrderFrame(
        placed=np.zeros(n),
        promised=nothing,
        delivered=nothing,
        exceptions=np.zeros(n, dtype=np.int64),
        failed_attempts=np.zeros(n, dtype=np.int64),
        on_time=nothing,
        placed_day=np.zeros(n, dtype=np.int64),
        stages={s: days if s is Stage.TRANSIT else nothing for s in Stage},
        groups={by: labels for by in GroupBy},
        origin=labels,
        destination=labels,
    )


@settings(max_examples=60)
@given(rows, st.randoms(use_true_random=False))
def test_histograms_and_bottlenecks_ignore_the_order_of_orders(
    pairs: list[tuple[int, float]], rng: object
) -> None:
    shuffled = list(pairs)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = frame_of(pairs), frame_of(shuffled)
    h1, h2 = histograms(first)[Stage.TRANSIT], histograms(second)[Stage.TRANSIT]
    assert h1 == h2
    assert h1.orders == sum(1 for _, v in pairs if not np.isnan(v))
    assert bottlenecks(first, min_orders=1) == bottlenecks(second, min_orders=1)


@given(rows)
def test_a_group_is_a_bottleneck_only_when_its_median_is_above_normal(
    pairs: list[tuple[int, float]],
) -> None:
    frame = frame_of(pairs)
    days = frame.stages[Stage.TRANSIT]
    for b in bottlenecks(frame, group_by=GroupBy.CARRIER, min_orders=1, limit=200):
        assert b.excess_days > 0
        mine = days[(frame.groups[GroupBy.CARRIER].codes == "abcde".index(b.group))]
        assert b.orders == int((~np.isnan(mine)).sum())
        assert b.normal_days == round(float(np.nanmedian(days)), 2)
