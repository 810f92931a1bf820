"""Out-of-sample evaluation of an ETA model beside the store's promise and simple guesses.

For every order purchased in a window after the model's training cutoff, at each stage
it went through (placed, paid, shipped), compare these promises with what happened:

- **model**: its p50 as the estimate, its p10 as the range's start and the day of its
  p90 as the day it would promise;
- **store**: ``order_estimated_delivery_date`` (the same at every stage);
- the guesses a careful analyst tries first (:data:`BASELINES`), each giving a p10,
  p50 and p90 of the days from a starting moment, never before the moment of the
  prediction:

  - ``training_median``: purchase-to-delivery days of the orders purchased *and
    delivered* before the cutoff (what was known that day), counted from purchase;
  - ``last_100``: the same days over the last 100 deliveries before the moment;
  - ``state_median``: the training orders going to the same destination state (the
    training figures where a state has fewer than :data:`MIN_STATE_ORDERS`);
  - ``stage_aware``: the time already spent plus the training orders' days from
    entering this stage to delivery.

Every promise is read as a shopper reads it (:mod:`rumbo.eta.days`): a calendar day in
the destination's time zone, kept when the parcel arrives before that day ends there —
the same rule for all. "Earlier" is how many calendar days before the store's promised
day a promised day falls, on average: positive means sooner. MAE compares moments with
the real delivery (the store's day at 00:00).

Orders of the window that were never delivered (and not cancelled) count too: they
broke every promise whose day had ended by the last moment the history records, and
are outside every range; orders whose promised day ends after that moment are not
judged. They have no delivery, so MAE is over delivered orders only.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from rumbo.eta.days import shopper_day
from rumbo.eta.features import (
    DAY,
    HistoryIndex,
    Snapshot,
    Stage,
    features_at,
    stage_entries,
    stage_moments,
)
from rumbo.eta.history import OrderHistory
from rumbo.eta.model import AT_RISK_BELOW, EtaModel, late_after_promise, training_orders
from rumbo.events.status import Status

BASELINES: tuple[str, ...] = ("training_median", "last_100", "state_median", "stage_aware")
RECENT_DELIVERIES = 100
MIN_STATE_ORDERS = 30
_LEVELS = (0.1, 0.5, 0.9)

Floats = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class Scores:
    """How one way of promising did on a set of orders."""

    mae_days: float  # mean absolute error of the point estimate, delivered orders, in days
    late_rate: float  # share not delivered by the end of the promised day (judged orders)
    earlier_days: float  # mean calendar days the promised day falls before the store's
    coverage: float | None  # share delivered from the p10 moment to the end of the p90 day


@dataclass(frozen=True, slots=True)
class AtRisk:
    """The at-risk flag (probability of keeping the store's promise below
    :data:`~rumbo.eta.model.AT_RISK_BELOW`) against what happened to that promise."""

    flagged: int
    broken: int  # store promises broken among the judged orders
    precision: float | None  # of the flagged, the share whose store promise broke
    recall: float | None  # of the broken, the share that was flagged


@dataclass(frozen=True, slots=True)
class StageReport:
    stage: str
    orders: int  # delivered orders scored at this stage
    undelivered: int  # orders never delivered, counted in late rates and coverage
    model: Scores
    store: Scores
    baselines: dict[str, Scores]
    at_risk: AtRisk

    @property
    def best_baseline(self) -> str:
        """The simple guess with the lowest MAE."""
        return min(self.baselines, key=lambda name: self.baselines[name].mae_days)


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    from_date: str
    to_date: str
    model_version: str
    trained_until: str
    orders: int  # delivered orders of the window
    undelivered: int
    stages: tuple[StageReport, ...]

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for stage, data in zip(self.stages, out["stages"], strict=True):
            data["best_baseline"] = stage.best_baseline
        return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _total_days(h: OrderHistory) -> float:
    assert h.delivered_at is not None
    return (h.delivered_at - h.purchased_at).total_seconds() / DAY


def _quantiles(values: Sequence[float] | Floats) -> tuple[float, float, float]:
    q = np.quantile(np.asarray(values, dtype=np.float64), _LEVELS)
    return float(q[0]), float(q[1]), float(q[2])


class _Baselines:
    """The simple guesses, learnt from the training orders (and, for ``last_100``, from
    the deliveries known before each moment)."""

    def __init__(self, histories: Sequence[OrderHistory], until: date) -> None:
        train = training_orders(histories, until)
        if not train:
            raise ValueError("no delivered orders before the cutoff for the simple guesses")
        self.overall = _quantiles([_total_days(h) for h in train])
        by_state: dict[str, list[float]] = {}
        by_stage: dict[Stage, list[float]] = {}
        for h in train:
            if h.customer_state is not None:
                by_state.setdefault(h.customer_state, []).append(_total_days(h))
            assert h.delivered_at is not None
            for stage, entered in stage_entries(h):
                left = (h.delivered_at - entered).total_seconds() / DAY
                by_stage.setdefault(stage, []).append(max(left, 0.0))
        self.by_state = {
            s: _quantiles(v) for s, v in by_state.items() if len(v) >= MIN_STATE_ORDERS
        }
        self.by_stage = {s: _quantiles(v) for s, v in by_stage.items()}
        # Every delivery of the history, by the moment it became known.
        delivered = sorted(
            (h.delivered_at, _total_days(h))
            for h in histories
            if h.status is Status.DELIVERED and h.delivered_at is not None
        )
        self._known = [moment for moment, _ in delivered]
        self._totals = np.array([days for _, days in delivered], dtype=np.float64)

    def recent(self, at: datetime) -> tuple[float, float, float]:
        end = bisect_left(self._known, at)
        if end == 0:
            return self.overall
        return _quantiles(self._totals[max(0, end - RECENT_DELIVERIES) : end])

    def guess(self, name: str, row: Snapshot, state: str | None) -> tuple[datetime, Floats]:
        """The moment a guess counts from and its p10/p50/p90 days from there."""
        if name == "training_median":
            return row.purchased_at, np.array(self.overall)
        if name == "last_100":
            return row.purchased_at, np.array(self.recent(row.at))
        if name == "state_median":
            return row.purchased_at, np.array(self.by_state.get(state or "", self.overall))
        return row.at, np.array(self.by_stage.get(row.stage, self.overall))


def window_snapshots(
    histories: Iterable[OrderHistory], start: datetime, end: datetime, index: HistoryIndex
) -> tuple[list[Snapshot], list[OrderHistory]]:
    """One snapshot at the start of each stage of every order purchased in ``[start,
    end)`` with a promise, delivered or never delivered (cancelled orders promise
    nothing any more), sorted by order id and moment; and the order of each row."""
    rows: list[tuple[Snapshot, OrderHistory]] = []
    for h in histories:
        if not (start <= h.purchased_at < end) or h.promised_at is None:
            continue
        if _delivered_unknown_when(h):
            continue
        if h.status is Status.DELIVERED:
            order = h
        elif h.status is Status.CANCELLED:
            continue
        else:  # never delivered: no delivery, whatever else the source recorded
            order = replace(h, delivered_at=None)
        for at in stage_moments(order):
            rows.append((features_at(order, at, index), h))
    rows.sort(key=lambda pair: (pair[0].order_id, pair[0].at))
    return [r for r, _ in rows], [h for _, h in rows]


def _delivered_unknown_when(h: OrderHistory) -> bool:
    """Delivered, the source says, but not when: neither on time nor late."""
    return h.delivered_at is None and (
        h.status is Status.DELIVERED or h.source_status == Status.DELIVERED.value
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What happened to the rows of one stage, as arrays."""

    delivered: np.ndarray[Any, np.dtype[np.bool_]]
    actual: Floats  # days since purchase to delivery (NaN: never delivered)
    delivered_day: np.ndarray[Any, np.dtype[np.int64]]  # shopper's day ordinal (or a far day)
    store_day: np.ndarray[Any, np.dtype[np.int64]]
    last_day: int  # ordinal of the last day the history records


def _scores(
    out: _Outcome,
    rows: Sequence[Snapshot],
    estimate: Floats,
    promised_day: np.ndarray[Any, np.dtype[np.int64]],
    low: Floats | None,
) -> Scores:
    """``estimate`` and ``low`` in days since purchase; ``promised_day`` as ordinals."""
    # An undelivered order is judged against a promised day that ended before the
    # history's last record (it broke it); later promised days cannot be judged.
    judged = out.delivered | (promised_day < out.last_day)
    kept = out.delivered & (out.delivered_day <= promised_day)
    d = out.delivered
    coverage = None
    if low is not None:
        inside = kept & (out.actual >= low)
        coverage = round(float(np.mean(inside[judged])), 4) if judged.any() else None
    return Scores(
        mae_days=round(float(np.mean(np.abs(out.actual[d] - estimate[d]))), 2) if d.any() else 0.0,
        late_rate=round(float(np.mean(~kept[judged])), 4) if judged.any() else 0.0,
        earlier_days=round(float(np.mean(out.store_day - promised_day)), 2),
        coverage=coverage,
    )


def _day_ordinals(rows: Sequence[Snapshot], starts: Sequence[datetime], days: Floats) -> Any:
    """The shopper's calendar day (ordinal) ``days`` after each of ``starts``."""
    return np.array(
        [
            shopper_day(start + timedelta(days=float(d)), r.clock, r.shopper).toordinal()
            for r, start, d in zip(rows, starts, days, strict=True)
        ],
        dtype=np.int64,
    )


def _since(rows: Sequence[Snapshot], starts: Sequence[datetime]) -> Floats:
    return np.array(
        [(s - r.purchased_at).total_seconds() / DAY for r, s in zip(rows, starts, strict=True)]
    )


def evaluate(
    model: EtaModel,
    histories: Sequence[OrderHistory],
    from_date: date,
    to_date: date,
    *,
    index: HistoryIndex | None = None,
) -> EvaluationReport:
    """Score ``model`` on the orders purchased in ``[from_date, to_date)``.

    Refuses a model trained on anything on or after ``from_date``: that would not be
    out-of-sample. ``index`` defaults to one over all ``histories`` (features still
    only read what was known before each snapshot).
    """
    if model.trained_until > from_date:
        raise ValueError(
            f"model trained until {model.trained_until} overlaps the window from {from_date}"
        )
    baselines = _Baselines(histories, model.trained_until)
    index = index or HistoryIndex(histories)
    rows, owners = window_snapshots(histories, _midnight(from_date), _midnight(to_date), index)
    last_moment = max(
        m
        for h in histories
        for m in (h.purchased_at, h.approved_at, h.shipped_at, h.delivered_at)
        if m is not None
    )
    days = model.quantile_days(rows)
    predictions = model.predict_many(rows)
    reports = []
    for stage in Stage:
        sel = [i for i, r in enumerate(rows) if r.stage is stage]
        if not sel:
            continue
        picked = [rows[i] for i in sel]
        hs = [owners[i] for i in sel]
        delivered = np.array([r.delivered_at is not None for r in picked])
        out = _Outcome(
            delivered=delivered,
            actual=np.array(
                [
                    (r.delivered_at - r.purchased_at).total_seconds() / DAY
                    if r.delivered_at is not None
                    else np.nan
                    for r in picked
                ]
            ),
            delivered_day=np.array(
                [
                    shopper_day(r.delivered_at, r.clock, r.shopper).toordinal()
                    if r.delivered_at is not None
                    else date.max.toordinal()
                    for r in picked
                ],
                dtype=np.int64,
            ),
            store_day=np.array(
                [r.promised_at.toordinal() for r in picked if r.promised_at], dtype=np.int64
            ),
            last_day=last_moment.toordinal(),
        )
        q = days[sel]
        at = [r.at for r in picked]
        since = _since(picked, at)
        mid = len(model.quantiles) // 2
        ours = _scores(
            out, picked, since + q[:, mid], _day_ordinals(picked, at, q[:, -1]), since + q[:, 0]
        )
        store_since = np.array(
            [
                (r.promised_at - r.purchased_at).total_seconds() / DAY
                for r in picked
                if r.promised_at
            ]
        )
        theirs = _scores(out, picked, store_since, out.store_day, None)
        guesses: dict[str, Scores] = {}
        for name in BASELINES:
            starts, qs = zip(
                *(
                    baselines.guess(name, r, h.customer_state)
                    for r, h in zip(picked, hs, strict=True)
                ),
                strict=True,
            )
            g = np.vstack(qs)
            origin = _since(picked, list(starts))
            # Never a guess before the moment of the prediction.
            low = np.maximum(origin + g[:, 0], since)
            estimate = np.maximum(origin + g[:, 1], since)
            high = np.maximum(origin + g[:, 2], since)
            guesses[name] = _scores(
                out,
                picked,
                estimate,
                _day_ordinals(picked, [r.purchased_at for r in picked], high),
                low,
            )
        reports.append(
            StageReport(
                stage.value,
                int(delivered.sum()),
                int((~delivered).sum()),
                ours,
                theirs,
                guesses,
                _at_risk([predictions[i] for i in sel], hs, last_moment),
            )
        )
    delivered_orders = {r.order_id for r in rows if r.delivered_at is not None}
    return EvaluationReport(
        from_date.isoformat(),
        to_date.isoformat(),
        model.version,
        model.trained_until.isoformat(),
        len(delivered_orders),
        len({r.order_id for r in rows} - delivered_orders),
        tuple(reports),
    )


def _at_risk(predictions: Sequence[Any], orders: Sequence[OrderHistory], last: datetime) -> AtRisk:
    flagged = broken = both = 0
    for p, h in zip(predictions, orders, strict=True):
        if h.promised_at is None or p.on_time_probability is None:
            continue
        broke = late_after_promise(h)
        if broke is None:  # never delivered: broken once its promised day has ended
            if _delivered_unknown_when(h) or h.promised_at.date() >= last.date():
                continue
            broke = True
        flag = p.on_time_probability < AT_RISK_BELOW
        flagged += flag
        broken += broke
        both += flag and broke
    return AtRisk(
        flagged,
        broken,
        round(both / flagged, 4) if flagged else None,
        round(both / broken, 4) if broken else None,
    )


_NAMES = {
    "model": "model",
    "store": "store",
    "training_median": "train median",
    "last_100": "last 100",
    "state_median": "state median",
    "stage_aware": "stage-aware",
}


def format_report(report: EvaluationReport) -> str:
    """A plain-text table: one block per stage, the model, the store and each guess."""
    lines = [
        f"Orders purchased {report.from_date} .. {report.to_date} (exclusive): "
        f"{report.orders} delivered, {report.undelivered} never delivered; model "
        f"{report.model_version or '(unsaved)'} trained until {report.trained_until}",
        f"{'stage':<8} {'n':>5}  {'promise':<13} {'MAE d':>6} {'late %':>7} "
        f"{'earlier d':>9} {'p10-p90 %':>9}",
    ]
    for s in report.stages:
        named = [("model", s.model), ("store", s.store), *s.baselines.items()]
        for i, (name, sc) in enumerate(named):
            cov = "" if sc.coverage is None else f"{100 * sc.coverage:.1f}"
            mark = "*" if name == s.best_baseline else " "
            lines.append(
                f"{s.stage if i == 0 else '':<8} {s.orders if i == 0 else '':>5}  "
                f"{_NAMES[name]:<12}{mark} {sc.mae_days:>6.2f} {100 * sc.late_rate:>7.1f} "
                f"{sc.earlier_days:>9.2f} {cov:>9}"
            )
        r = s.at_risk
        lines.append(
            f"{'':<8} {'':>5}  at risk: {r.flagged} flagged, {r.broken} store promises broken,"
            f" precision {_pct(r.precision)}, recall {_pct(r.recall)}"
            f"; never delivered: {s.undelivered}"
        )
    lines.append("* the simple guess with the lowest MAE at that stage")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"
