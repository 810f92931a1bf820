"""Where a store's logistics lose time: stage durations, on-time rate, bottlenecks.

The database gives every order's first time at each milestone (see
:mod:`rumbo.analytics.frame`); numpy computes the figures, which SQLite cannot.
Orders are included by purchase date.

Stages (from the milestones every integration maps onto):

- ``approval``: placed → payment confirmed
- ``handling``: payment confirmed → handed to the carrier (shipped)
- ``transit``: shipped → out for delivery (→ delivered when the carrier never
  reports the last mile)
- ``last_mile``: out for delivery → delivered

Percentiles are numpy's default (linear interpolation between closest ranks).
An order is *on time* when it was delivered by the end of the promised day on
the destination's clock (what the shopper was told).

A bottleneck is a (stage, group) whose median is above the median of all orders
for that stage: its cost is the excess days times the orders that went through
it, so a slightly slow lane with a lot of volume can outrank a very slow one
that ships twice a month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy.orm import Session

from rumbo.analytics.frame import (
    Bools,
    Floats,
    GroupBy,
    Ints,
    Labels,
    OrderFrame,
    Stage,
    day_of,
    load_frame,
)
from rumbo.events.stale import StaleCount, stale_counts

__all__ = [
    "Bottleneck",
    "GroupBy",
    "GroupFigures",
    "HeatCell",
    "Histogram",
    "OrderFrame",
    "Stage",
    "StageFigures",
    "Week",
    "bottlenecks",
    "figures",
    "grouped",
    "heat_map",
    "histograms",
    "largest_groups",
    "load_frame",
    "only_group",
    "stale_now",
    "weekly_on_time",
]


def _group_quantiles(
    codes: Ints, values: Floats, groups: int, qs: list[float], by_value: Ints | None = None
) -> Floats:
    """``qs`` quantiles of ``values`` per group code (0..groups-1): NaN values and
    negative codes are left out; NaN where a group has no value.

    ``by_value`` is ``np.argsort(values, kind="stable")`` when the caller already has it
    (one sort of a stage's values serves every grouping)."""
    if by_value is None:
        by_value = np.argsort(values, kind="stable")  # NaN sort last
    order = by_value[(codes[by_value] >= 0) & ~np.isnan(values[by_value])]
    # Stable by group keeps each group's values ascending; small integer keys let numpy
    # use a radix sort, linear in the number of orders.
    key = codes[order].astype(np.int16 if groups <= np.iinfo(np.int16).max else np.int64)
    order = order[np.argsort(key, kind="stable")]
    codes, values = codes[order], values[order]
    counts = np.bincount(codes, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full((groups, len(qs)), np.nan)
    has = counts > 0
    for j, q in enumerate(qs):
        # numpy's "linear" method: position q·(n-1) between the two closest ranks.
        position = q * (counts[has] - 1)
        low = np.floor(position).astype(np.int64)
        high = np.ceil(position).astype(np.int64)
        base = starts[has]
        v_low, v_high = values[base + low], values[base + high]
        out[has, j] = v_low + (v_high - v_low) * (position - low)
    return out


def _counts(codes: Ints, groups: int, weights: Floats | Ints | Bools | None = None) -> Floats:
    keep = codes >= 0
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    return np.bincount(codes[keep], weights=w, minlength=groups).astype(np.float64)


def _round(value: float, digits: int = 2) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


@dataclass(frozen=True, slots=True)
class StageFigures:
    orders: int
    p50_days: float | None
    p90_days: float | None


@dataclass
class GroupFigures:
    group: str | None
    orders: int = 0
    delivered: int = 0
    on_time_judged: int = 0
    on_time_rate: float | None = None
    exceptions: int = 0
    failed_attempts: int = 0
    stages: dict[Stage, StageFigures] = field(default_factory=dict)


def _figures_by(frame: OrderFrame, labels: Labels) -> list[GroupFigures]:
    """Figures for every label of ``labels`` (in its order)."""
    codes, n = labels.codes, len(labels.names)
    orders = _counts(codes, n)
    judged = ~np.isnan(frame.on_time)
    judged_n = _counts(codes, n, judged)
    on_time_n = _counts(codes, n, np.where(judged, frame.on_time, 0.0))
    delivered = _counts(codes, n, ~np.isnan(frame.delivered))
    exceptions = _counts(codes, n, frame.exceptions)
    failed = _counts(codes, n, frame.failed_attempts)
    stage_counts = {s: _counts(codes, n, ~np.isnan(frame.stages[s])) for s in Stage}
    stage_qs = {s: _group_quantiles(codes, frame.stages[s], n, [0.5, 0.9]) for s in Stage}
    out = []
    for i, name in enumerate(labels.names):
        out.append(
            GroupFigures(
                group=name,
                orders=int(orders[i]),
                delivered=int(delivered[i]),
                on_time_judged=int(judged_n[i]),
                on_time_rate=round(float(on_time_n[i] / judged_n[i]), 4) if judged_n[i] else None,
                exceptions=int(exceptions[i]),
                failed_attempts=int(failed[i]),
                stages={
                    s: StageFigures(
                        int(stage_counts[s][i]),
                        _round(stage_qs[s][i, 0]),
                        _round(stage_qs[s][i, 1]),
                    )
                    for s in Stage
                },
            )
        )
    return out


def figures(frame: OrderFrame) -> GroupFigures:
    """Figures of all the orders in the frame together."""
    everyone = Labels(np.zeros(len(frame), dtype=np.int64), ["all"])
    total = _figures_by(frame, everyone)[0]
    total.group = None
    return total


def grouped(frame: OrderFrame, by: GroupBy) -> list[GroupFigures]:
    """Figures per group value, largest volume first (orders without the value are left out)."""
    return sorted(
        (g for g in _figures_by(frame, frame.groups[by]) if g.orders),
        key=lambda g: (-g.orders, g.group or ""),
    )


@dataclass(frozen=True, slots=True)
class Bottleneck:
    stage: Stage
    group_by: GroupBy
    group: str
    orders: int
    median_days: float
    normal_days: float
    excess_days: float  # per order, above the median of all orders
    cost_days: float  # excess × orders: the days this (stage, group) costs


def bottlenecks(
    frame: OrderFrame,
    *,
    group_by: GroupBy | None = None,
    min_orders: int = 5,
    limit: int = 20,
) -> list[Bottleneck]:
    """(stage, group) pairs ranked by the days they cost above normal, weighted by volume;
    over every way of grouping, or only ``group_by``."""
    found = []
    for stage in Stage:
        days = frame.stages[stage]
        if np.isnan(days).all():
            continue
        normal = float(np.nanmedian(days))
        by_value = np.argsort(days, kind="stable")
        for by in [group_by] if group_by else list(GroupBy):
            labels = frame.groups[by]
            n = len(labels.names)
            counts = _counts(labels.codes, n, ~np.isnan(days))
            medians = _group_quantiles(labels.codes, days, n, [0.5], by_value)[:, 0]
            # Rounded: the two databases' time arithmetic differs in the last bits.
            for i in np.flatnonzero((counts >= min_orders) & (np.round(medians - normal, 2) > 0)):
                median, count = float(medians[i]), int(counts[i])
                excess = median - normal
                found.append(
                    Bottleneck(
                        stage, by, labels.names[i], count, round(median, 2), round(normal, 2),
                        round(excess, 2), round(excess * count, 1),
                    )
                )  # fmt: skip
    found.sort(key=lambda b: (-b.cost_days, b.stage, b.group_by, b.group))
    return found[:limit]


@dataclass(frozen=True, slots=True)
class Week:
    week: date  # Monday of the purchase week
    delivered: int  # delivered orders with a promise: those judged
    on_time_rate: float | None


def weekly_on_time(frame: OrderFrame) -> list[Week]:
    """On-time rate per purchase week (Monday to Sunday on the destination's clock)."""
    judged = ~np.isnan(frame.on_time)
    days = frame.placed_day[judged]
    if not len(days):
        return []
    # Day 0 (1970-01-01) was a Thursday: weekday = (day + 3) % 7 with Monday = 0.
    mondays = days - (days + 3) % 7
    weeks, inverse = np.unique(mondays, return_inverse=True)
    judged_n = np.bincount(inverse, minlength=len(weeks))
    on_time = np.bincount(inverse, weights=frame.on_time[judged], minlength=len(weeks))
    return [
        Week(day_of(int(w)), int(n), round(float(k) / int(n), 4))
        for w, n, k in zip(weeks, judged_n, on_time, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Histogram:
    """Orders per duration bin of one stage; the last bin is open-ended."""

    stage: Stage
    edges: list[float]  # days: bin i is [edges[i], edges[i+1]); the last is [edges[-1], ∞)
    counts: list[int]
    p50_days: float | None
    p90_days: float | None

    @property
    def orders(self) -> int:
        return sum(self.counts)


# Bin widths a person reads easily: 1 h, 2 h, 6 h, 12 h, 1 day, 2 days, a week.
_WIDTHS = (1 / 24, 2 / 24, 6 / 24, 0.5, 1.0, 2.0, 7.0)
_MAX_BINS = 20


def histograms(
    frame: OrderFrame, edges: dict[Stage, list[float]] | None = None
) -> dict[Stage, Histogram]:
    """Each stage's duration distribution. Unless ``edges`` are given (to compare groups
    with the whole), bins are of a readable width such that 98 % of orders fall in at
    most 20 closed bins; what lies beyond lands in the open last bin."""
    out = {}
    for stage in Stage:
        days = frame.stages[stage]
        # To the tenth of a second: a time difference computed by the database may miss
        # a whole bin edge by a rounding error.
        days = np.round(days[~np.isnan(days)], 6)
        p50, p90 = np.quantile(days, [0.5, 0.9]) if len(days) else (np.nan, np.nan)
        if edges is not None:
            stage_edges = edges[stage]
        elif len(days):
            p98 = float(np.quantile(days, 0.98))
            width = next((w for w in _WIDTHS if p98 / w <= _MAX_BINS), _WIDTHS[-1])
            bins = max(1, min(_MAX_BINS, math.ceil(p98 / width)))
            stage_edges = [round(i * width, 4) for i in range(bins + 1)]
        else:
            stage_edges = [0.0]
        index = np.searchsorted(np.asarray(stage_edges), days, side="right") - 1
        counts = np.bincount(index[index >= 0], minlength=len(stage_edges))
        out[stage] = Histogram(
            stage, stage_edges, [int(c) for c in counts], _round(p50), _round(p90)
        )
    return out


def largest_groups(frame: OrderFrame, by: GroupBy, limit: int) -> list[tuple[str, OrderFrame]]:
    """The ``limit`` groups with the most orders, each with its own orders."""
    labels = frame.groups[by]
    counts = _counts(labels.codes, len(labels.names))
    ranked = sorted(
        (i for i in range(len(labels.names)) if counts[i]),
        key=lambda i: (-counts[i], labels.names[i]),
    )
    return [(labels.names[i], frame.take(labels.codes == i)) for i in ranked[:limit]]


def only_group(frame: OrderFrame, by: GroupBy, name: str) -> OrderFrame:
    """The orders of one group (none when no order has that value)."""
    labels = frame.groups[by]
    code = labels.names.index(name) if name in labels.names else -2
    return frame.take(labels.codes == code)


def stale_now(session: Session, merchant_id: int, now: datetime) -> StaleCount:
    """Open shipments and how many are stale now (rumbo.events.stale decides what is)."""
    counts = stale_counts(session, merchant_id, now)
    return counts[0] if counts else StaleCount(None, 0, 0)


@dataclass(frozen=True, slots=True)
class HeatCell:
    origin: str
    destination: str
    orders: int
    delivered: int
    median_delivery_days: float | None  # placed → delivered
    median_transit_days: float | None
    on_time_rate: float | None


def heat_map(frame: OrderFrame, *, min_orders: int = 1) -> list[HeatCell]:
    """Origin state × destination state: volume, median days and on-time rate per lane."""
    origins, dests = frame.origin, frame.destination
    known = (origins.codes >= 0) & (dests.codes >= 0)
    width = max(1, len(dests.names))
    codes = np.where(known, origins.codes * width + dests.codes, -1)
    n = len(origins.names) * width
    orders = _counts(codes, n)
    delivered = _counts(codes, n, ~np.isnan(frame.delivered))
    judged = ~np.isnan(frame.on_time)
    judged_n = _counts(codes, n, judged)
    on_time = _counts(codes, n, np.where(judged, frame.on_time, 0.0))
    total_days = frame.delivered - frame.placed
    delivery = _group_quantiles(codes, total_days, n, [0.5])[:, 0]
    transit = _group_quantiles(codes, frame.stages[Stage.TRANSIT], n, [0.5])[:, 0]
    cells = []
    for i in np.flatnonzero(orders >= max(1, min_orders)):
        cells.append(
            HeatCell(
                origin=origins.names[i // width],
                destination=dests.names[i % width],
                orders=int(orders[i]),
                delivered=int(delivered[i]),
                median_delivery_days=_round(delivery[i]),
                median_transit_days=_round(transit[i]),
                on_time_rate=round(float(on_time[i] / judged_n[i]), 4) if judged_n[i] else None,
            )
        )
    return cells
