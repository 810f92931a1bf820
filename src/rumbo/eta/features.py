"""What is known about an order at a given moment, as numbers a model can read.

The one rule: a feature computed "at" a moment uses only what had happened *before*
that moment. The order's own later milestones are invisible (a snapshot taken while
the order is being prepared does not know when it will ship), and the recent
behaviour of sellers, lanes and carriers comes from a :class:`HistoryIndex` that
answers "the last K values known strictly before t" — an order completed one second
after the prediction moment does not count. That is where leakage usually hides, and
``tests/eta/test_features.py`` checks it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from rumbo.eta.brazil import UF_CODE, days_off_ahead, is_peak_season
from rumbo.eta.days import UTC_ZONE, history_zone, shopper_zone
from rumbo.eta.history import OrderHistory
from rumbo.events.status import Status

DAY = 86400.0
NAN = math.nan
# Durations are clipped before averaging so one parcel lost for a year does not
# dominate a seller's or a lane's recent mean.
CLIP_DAYS = 60.0
WINDOW_GLOBAL = 100
WINDOW_GLOBAL_LONG = 400
WINDOW_KEY = 30
# The long-run level of a destination or a lane: its last PRIOR_WINDOW deliveries
# (all of them on a store's first years), shrunk towards the coarser level by
# PRIOR_STRENGTH pseudo-orders — a state with 5 deliveries is mostly the network's
# level, one with 300 mostly its own (empirical Bayes, a fixed prior strength: the
# baseline's own "at least 30 orders" rule, made smooth).
PRIOR_WINDOW = 1000
PRIOR_STRENGTH = 30.0
# The orders placed in the last BACKLOG_DAYS that are still open, against the rate they
# were placed at (Little's law: the mean days an order currently stays open), compared
# with its own level over the BACKLOG_REFERENCE_DAYS before: a load signal that moves
# the day a surge of orders is placed, not once its late deliveries come in.
BACKLOG_DAYS = 60
BACKLOG_REFERENCE_DAYS = 180
BACKLOG_MIN_ORDERS = 30
SURGE_DAYS = (14, 90)


class Stage(StrEnum):
    """How far an order has got when we predict: the three moments Olist records."""

    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"


STAGE_CODE: dict[Stage, int] = {Stage.PLACED: 0, Stage.PAID: 1, Stage.SHIPPED: 2}


def stage_of(status: Status) -> Stage | None:
    """The prediction stage for a canonical status; ``None`` once the order has ended."""
    if status is Status.PENDING:
        return Stage.PLACED
    if status in (Status.PAYMENT_CONFIRMED, Status.PREPARING):
        return Stage.PAID
    if status in (Status.DELIVERED, Status.RETURNED, Status.CANCELLED):
        return None
    return Stage.SHIPPED  # shipped, in transit, out for delivery, or an exception on the way


FEATURE_NAMES: tuple[str, ...] = (
    "stage",
    "origin_state",
    "destination_state",
    "distance_km",
    "destination_zip3",
    "freight",
    "price",
    "item_count",
    "weekday",
    "hour",
    "month",
    "peak_season",
    "days_off_next_7",
    "promised_days",
    "promise_total_days",
    "elapsed_in_stage_days",
    "since_purchase_days",
    "approval_days",
    "handling_days",
    "handover_weekday",
    "seller_handling_recent",
    "seller_orders_recent",
    "lane_transit_recent",
    "lane_orders_recent",
    "carrier_lane_transit_recent",
    "carrier_transit_recent",
    "destination_transit_recent",
    "handling_recent",
    "transit_recent",
    "transit_recent_long",
    "total_recent",
    "promise_slack_recent",
    "destination_total_prior",
    "lane_total_prior",
    "destination_transit_prior",
    "lane_transit_prior",
    "total_load",
    "transit_load",
    "placed_surge",
    "backlog_load",
)
# Indices of the categorical columns (state codes), for HistGradientBoosting.
CATEGORICAL: tuple[int, ...] = (1, 2)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An order seen at ``at``: its features then, and (for history) what happened next."""

    order_id: str
    stage: Stage
    at: datetime
    features: tuple[float, ...]
    purchased_at: datetime
    promised_at: datetime | None
    delivered_at: datetime | None = None
    clock: ZoneInfo = UTC_ZONE  # the zone of the naive times above
    shopper: ZoneInfo = UTC_ZONE  # where the promised day is read

    @property
    def remaining_days(self) -> float | None:
        """Days from ``at`` to delivery — the training target; ``None`` if not delivered."""
        if self.delivered_at is None:
            return None
        return (self.delivered_at - self.at).total_seconds() / DAY


class _Series:
    """Values keyed by the moment they became known, with prefix sums for window means."""

    __slots__ = ("times", "sums")

    def __init__(self, points: list[tuple[float, float]]) -> None:
        points.sort()
        self.times = [t for t, _ in points]
        self.sums = [0.0]
        for _, v in points:
            self.sums.append(self.sums[-1] + v)

    def window(self, before: float, size: int) -> tuple[float, int]:
        """Mean of the last ``size`` values known strictly before ``before``, and the count."""
        end = bisect_left(self.times, before)
        start = max(0, end - size)
        n = end - start
        return ((self.sums[end] - self.sums[start]) / n if n else NAN), n


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / DAY


def _clip(days: float) -> float:
    return min(max(days, 0.0), CLIP_DAYS)


class _Backlog:
    """Orders placed, and which of them were still open, at any moment: a known-at-the-
    moment measure of load that leads the deliveries (a Black-Friday surge shows the
    day its orders are placed)."""

    __slots__ = ("delivered", "first_day", "placed", "reference")

    def __init__(self, histories: Iterable[OrderHistory]) -> None:
        pairs = sorted(
            (h.purchased_at.timestamp(), h.delivered_at.timestamp() if h.delivered_at else math.inf)
            for h in histories
        )
        self.placed = np.array([p for p, _ in pairs], dtype=np.float64)
        self.delivered = np.array([d for _, d in pairs], dtype=np.float64)
        # log1p(open days) at each midnight (of the naive clock) of the history, with
        # prefix sums, for the reference level of the days before a moment.
        self.first_day = math.floor(self.placed[0] / DAY) if len(pairs) else 0
        last_day = math.floor(self.placed[-1] / DAY) + 2 if len(pairs) else 0
        days = np.log1p(
            [self.open_days((self.first_day + i) * DAY) for i in range(last_day - self.first_day)]
        )
        # reference[i]: the median over the midnights before day i (NaN below a month
        # of them). A median, so that last year's peak does not make every day after it
        # look calm for half a year.
        self.reference = [NAN] * (len(days) + 1)
        for i in range(len(days) + 1):
            known = days[max(0, i - BACKLOG_REFERENCE_DAYS) : i]
            known = known[~np.isnan(known)]
            if len(known) >= 30:
                self.reference[i] = float(np.median(known))

    def placed_between(self, start: float, end: float) -> int:
        return int(np.searchsorted(self.placed, end) - np.searchsorted(self.placed, start))

    def open_days(self, t: float) -> float:
        """Little's law at ``t``: orders placed in the last BACKLOG_DAYS and not delivered
        strictly before ``t``, over the daily rate they were placed at."""
        lo = int(np.searchsorted(self.placed, t - BACKLOG_DAYS * DAY))
        hi = int(np.searchsorted(self.placed, t))
        if hi - lo < BACKLOG_MIN_ORDERS:
            return NAN
        still_open = int(np.count_nonzero(self.delivered[lo:hi] >= t))
        return still_open * BACKLOG_DAYS / (hi - lo)

    def load(self, t: float) -> float:
        """log1p(open days) now less its median over the midnights of the reference
        period before ``t``; NaN until a month of reference is known."""
        end = min(len(self.reference) - 1, max(0, math.floor(t / DAY) - self.first_day + 1))
        return math.log1p(self.open_days(t)) - self.reference[end]

    def surge(self, t: float) -> float:
        """log of the daily rate of orders placed in the last two weeks over the last
        three months' (+1 order each: no division by zero on a quiet start)."""
        short, long = SURGE_DAYS
        recent = self.placed_between(t - short * DAY, t)
        base = self.placed_between(t - long * DAY, t)
        if base < BACKLOG_MIN_ORDERS:
            return NAN
        return math.log((recent + 1) / short) - math.log((base + 1) / long)


class HistoryIndex:
    """Recent handling and transit times, by seller, lane, carrier and overall, over time,
    and the orders placed and still open (``placed``: every order known, delivered or
    not; by default ``histories``)."""

    def __init__(
        self, histories: Iterable[OrderHistory], placed: Iterable[OrderHistory] | None = None
    ) -> None:
        histories = list(histories)
        self.backlog = _Backlog(histories if placed is None else placed)
        points: dict[str, list[tuple[float, float]]] = {}

        def add(key: str, known_at: datetime, value: float) -> None:
            points.setdefault(key, []).append((known_at.timestamp(), _clip(value)))

        def log_add(key: str, known_at: datetime, value: float) -> None:
            points.setdefault(key, []).append((known_at.timestamp(), math.log1p(_clip(value))))

        for h in histories:
            approved, shipped = milestones(h)
            ready = approved or h.purchased_at
            if shipped is not None:
                handling = _days(ready, shipped)
                add("handling", shipped, handling)
                if h.seller_id is not None:
                    add(f"handling|{h.seller_id}", shipped, handling)
            if h.delivered_at is None:
                continue
            total = _days(h.purchased_at, h.delivered_at)
            add("total", h.delivered_at, total)
            for key in _prior_keys("ltotal", h.customer_state, h.lane):
                log_add(key, h.delivered_at, total)
            if h.promised_at is not None:
                # Signed, not clipped: negative slack is a broken promise.
                points.setdefault("slack", []).append(
                    (
                        h.delivered_at.timestamp(),
                        max(-CLIP_DAYS, min(CLIP_DAYS, _days(h.delivered_at, h.promised_at))),
                    )
                )
            if shipped is None:
                continue
            transit = _days(shipped, h.delivered_at)
            add("transit", h.delivered_at, transit)
            for key in _prior_keys("ltransit", h.customer_state, h.lane):
                log_add(key, h.delivered_at, transit)
            if h.lane is not None:
                add(f"transit|{h.lane}", h.delivered_at, transit)
                if h.carrier is not None:
                    add(f"transit|{h.carrier}|{h.lane}", h.delivered_at, transit)
            if h.carrier is not None:
                add(f"transit|@{h.carrier}", h.delivered_at, transit)
            if h.customer_state is not None:
                add(f"transit|>{h.customer_state}", h.delivered_at, transit)
        self._series = {key: _Series(p) for key, p in points.items()}

    def recent(self, key: str, before: datetime, size: int = WINDOW_KEY) -> tuple[float, int]:
        """Mean of the last ``size`` values of ``key`` known strictly before ``before``."""
        series = self._series.get(key)
        if series is None:
            return NAN, 0
        return series.window(before.timestamp(), size)

    def prior(
        self, kind: str, state: str | None, lane: str | None, before: datetime
    ) -> tuple[float, float]:
        """log1p of the typical days (``kind``: "ltotal" from purchase, "ltransit" from
        the hand-over) to a destination state and on a lane, from the deliveries known
        strictly before ``before``, each shrunk towards the coarser level."""
        level, _ = self.recent(kind, before, PRIOR_WINDOW)
        if math.isnan(level):
            return NAN, NAN
        out = []
        for key in _prior_keys(kind, state, lane)[1:]:
            mean, n = self.recent(key, before, PRIOR_WINDOW)
            if n:
                level = (n * mean + PRIOR_STRENGTH * level) / (n + PRIOR_STRENGTH)
            out.append(level)
        while len(out) < 2:
            out.append(level)
        return out[0], out[1]

    def load(self, kind: str, before: datetime) -> float:
        """How much slower (log ratio) the last WINDOW_GLOBAL deliveries were than the
        long run: positive when the network is congested."""
        recent, n = self.recent(kind, before, WINDOW_GLOBAL)
        long_run, _ = self.recent(kind, before, PRIOR_WINDOW)
        return recent - long_run if n else NAN


def _prior_keys(kind: str, state: str | None, lane: str | None) -> list[str]:
    """The levels a prior shrinks through: the whole network, the state, the lane."""
    keys = [kind]
    if state is not None:
        keys.append(f"{kind}|>{state}")
        if lane is not None:
            keys.append(f"{kind}|{lane}")
    return keys


def milestones(order: OrderHistory) -> tuple[datetime | None, datetime | None]:
    """The order's approval and hand-over as the stages read them.

    Olist records a few carrier dates minutes before the purchase (two systems' clocks
    disagreeing on a same-day hand-over): read literally, the order would be "with the
    carrier" before it was bought. Such a hand-over is read at the next milestone that
    was recorded after the purchase (the approval, or the purchase itself), so the
    order is placed at its purchase and shipped from then. An approval recorded after
    the hand-over (a late payment confirmation) is kept as it is; the stages skip it.
    """
    approved = max(order.approved_at, order.purchased_at) if order.approved_at else None
    shipped = order.shipped_at
    if shipped is not None and shipped < order.purchased_at:
        shipped = approved or order.purchased_at
    return approved, shipped


def _zip3(prefix: str | None) -> float:
    """The first three digits of a Brazilian CEP as a number. CEPs are allotted by
    geography (Correios: the first digit is a region of states, the next ones narrow it
    down to a city and its districts), so nearby places have nearby numbers: within a
    state, where the capitals' distance is unknown, this tells the capital's metro
    from the interior."""
    if not prefix or not prefix[:3].isdigit():
        return NAN
    return float(prefix[:3])


def _num(value: float | None) -> float:
    return NAN if value is None else float(value)


def stage_at(order: OrderHistory, at: datetime) -> tuple[Stage, datetime]:
    """The order's stage at ``at`` and when it entered it, from timestamps up to ``at``."""
    approved, shipped = milestones(order)
    if shipped is not None and shipped <= at:
        return Stage.SHIPPED, shipped
    if approved is not None and approved <= at:
        return Stage.PAID, approved
    return Stage.PLACED, order.purchased_at


def features_at(order: OrderHistory, at: datetime, index: HistoryIndex) -> Snapshot:
    """The order as known at ``at``: never reads a timestamp of the order later than ``at``.

    ``delivered_at`` is carried on the snapshot (as the training target) only when the
    delivery had happened; it is never an input to a feature.
    """
    stage, entered = stage_at(order, at)
    approved = milestones(order)[0]
    approved = approved if approved is not None and approved <= at else None
    shipped = entered if stage is Stage.SHIPPED else None
    lane = order.lane
    seller = order.seller_id
    seller_h, seller_n = index.recent(f"handling|{seller}", at) if seller is not None else (NAN, 0)
    lane_t, lane_n = index.recent(f"transit|{lane}", at) if lane is not None else (NAN, 0)
    carrier_t = (
        index.recent(f"transit|{order.carrier}|{lane}", at)[0]
        if lane is not None and order.carrier is not None
        else NAN
    )
    carrier_all_t = (
        index.recent(f"transit|@{order.carrier}", at, WINDOW_GLOBAL)[0]
        if order.carrier is not None
        else NAN
    )
    dest_t = (
        index.recent(f"transit|>{order.customer_state}", at)[0]
        if order.customer_state is not None
        else NAN
    )
    state_total, lane_total = index.prior("ltotal", order.customer_state, lane, at)
    state_transit, lane_transit = index.prior("ltransit", order.customer_state, lane, at)
    day = at.date()
    features = (
        float(STAGE_CODE[stage]),
        _num(UF_CODE.get(order.seller_state or "")),
        _num(UF_CODE.get(order.customer_state or "")),
        _num(order.distance_km),
        _zip3(order.customer_zip_prefix),
        _num(order.freight),
        _num(order.price),
        float(order.item_count) if order.item_count else NAN,
        float(at.weekday()),
        at.hour + at.minute / 60.0,
        float(at.month),
        float(is_peak_season(day)),
        float(days_off_ahead(day)),
        _days(at, order.promised_at) if order.promised_at is not None else NAN,
        _days(order.purchased_at, order.promised_at) if order.promised_at is not None else NAN,
        _days(entered, at),
        _days(order.purchased_at, at),
        _days(order.purchased_at, approved) if approved is not None else NAN,
        _days(approved or order.purchased_at, shipped) if shipped is not None else NAN,
        float(shipped.weekday()) if shipped is not None else NAN,
        seller_h,
        float(seller_n),
        lane_t,
        float(lane_n),
        carrier_t,
        carrier_all_t,
        dest_t,
        index.recent("handling", at, WINDOW_GLOBAL)[0],
        index.recent("transit", at, WINDOW_GLOBAL)[0],
        index.recent("transit", at, WINDOW_GLOBAL_LONG)[0],
        index.recent("total", at, WINDOW_GLOBAL)[0],
        index.recent("slack", at, WINDOW_GLOBAL)[0],
        state_total,
        lane_total,
        state_transit,
        lane_transit,
        index.load("ltotal", at),
        index.load("ltransit", at),
        index.backlog.surge(at.timestamp()),
        index.backlog.load(at.timestamp()),
    )
    delivered = order.delivered_at if order.delivered_at and order.delivered_at > at else None
    return Snapshot(
        order.order_id,
        stage,
        at,
        features,
        order.purchased_at,
        order.promised_at,
        delivered,
        history_zone(order.country),
        shopper_zone(order.country, order.customer_state),
    )


def stage_entries(order: OrderHistory) -> list[tuple[Stage, datetime]]:
    """Each stage the order went through and when it entered it (a stage left at the
    moment it was entered is skipped)."""
    approved, shipped = milestones(order)
    entries = [(Stage.PLACED, order.purchased_at)]
    if approved is not None and (shipped is None or approved < shipped):
        entries.append((Stage.PAID, approved))
    if shipped is not None:
        entries.append((Stage.SHIPPED, shipped))
    return entries


def stage_moments(
    order: OrderHistory, offsets_days: tuple[float, ...] = (0.0,)
) -> Iterator[datetime]:
    """Moments to look at an order: at each stage's start, and ``offsets_days`` into it
    while it is still in that stage and not yet delivered (what the at-risk job sees)."""
    entries = [moment for _, moment in stage_entries(order)]
    ends = [*entries[1:], order.delivered_at]
    for start, end in zip(entries, ends, strict=True):
        # A delivery recorded before the next milestone (a late scan of the hand-over)
        # still ends the order: nothing is left to predict after it.
        if order.delivered_at is not None and (end is None or order.delivered_at < end):
            end = order.delivered_at
        for offset in offsets_days:
            at = start + timedelta(days=offset)
            if end is not None and at >= end:
                break
            yield at


def snapshots(
    orders: Iterable[OrderHistory], index: HistoryIndex, offsets_days: tuple[float, ...] = (0.0,)
) -> Iterator[Snapshot]:
    """Snapshots of delivered orders at every stage (the rows to train and evaluate on)."""
    for order in orders:
        if order.status is not Status.DELIVERED or order.delivered_at is None:
            continue
        for at in stage_moments(order, offsets_days):
            yield features_at(order, at, index)
