"""Out-of-sample evaluation of an ETA model next to the store's own promise.

For every delivered order purchased in a window after the model's training cutoff, at
each stage (placed, paid, shipped), compare three promises with the real delivery:

- **ours**: the model's p50 as the estimate and the day of its p90 as the day we
  would promise;
- **store**: ``order_estimated_delivery_date`` (the same at every stage);
- **constant**: the median / p10 / p90 of purchase-to-delivery days over the orders
  purchased before the cutoff, counted from purchase — the guess to beat.

Every promise is read as a shopper reads it (:mod:`rumbo.eta.days`): a calendar day
in the destination's time zone, kept when the parcel arrives before that day ends
there — the same rule for ours, the store's and the constant's. "Earlier" is how many
calendar days before the store's promised day a promised day falls, on average:
positive means we promise sooner. MAE compares moments: our p50, the store's day at
00:00 and the constant's median with the real delivery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import numpy as np

from rumbo.eta.days import shopper_day
from rumbo.eta.features import DAY, HistoryIndex, Snapshot, Stage, snapshots
from rumbo.eta.history import OrderHistory
from rumbo.eta.model import EtaModel
from rumbo.events.status import Status


@dataclass(frozen=True, slots=True)
class Scores:
    """How one way of promising did on a set of orders."""

    mae_days: float  # mean absolute error of the point estimate, in days
    late_rate: float  # share delivered after the promised day had ended
    earlier_days: float  # mean calendar days the promised day falls before the store's
    coverage: float | None  # share delivered from the p10 moment to the end of the p90 day


@dataclass(frozen=True, slots=True)
class StageReport:
    stage: str
    orders: int
    model: Scores
    store: Scores
    constant: Scores


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    from_date: str
    to_date: str
    model_version: str
    trained_until: str
    orders: int
    stages: tuple[StageReport, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _scores(
    actual: np.ndarray,
    estimate: np.ndarray,
    promised: np.ndarray,
    delivered: np.ndarray,
    store: np.ndarray,
    low: np.ndarray | None,
) -> Scores:
    """``actual``, ``estimate``, ``low``: days since the order's purchase; ``promised``,
    ``delivered``, ``store``: the shopper's calendar days, as ordinals."""
    return Scores(
        mae_days=round(float(np.mean(np.abs(actual - estimate))), 2),
        late_rate=round(float(np.mean(delivered > promised)), 4),
        earlier_days=round(float(np.mean(store - promised)), 2),
        coverage=None
        if low is None
        else round(float(np.mean((actual >= low) & (delivered <= promised))), 4),
    )


def _days_of(
    rows: Sequence[Snapshot], starts: Sequence[datetime], offsets: np.ndarray
) -> np.ndarray:
    """The shopper's calendar day (ordinal) ``offsets`` days after each of ``starts``."""
    return np.array(
        [
            shopper_day(start + timedelta(days=float(d)), r.clock, r.shopper).toordinal()
            for r, start, d in zip(rows, starts, offsets, strict=True)
        ]
    )


def evaluate(
    model: EtaModel,
    histories: Sequence[OrderHistory],
    from_date: date,
    to_date: date,
    *,
    index: HistoryIndex | None = None,
) -> EvaluationReport:
    """Score ``model`` on delivered orders purchased in ``[from_date, to_date)``.

    Refuses a model trained on anything on or after ``from_date``: that would not be
    out-of-sample. ``index`` defaults to one over all ``histories`` (features still
    only read what was known before each snapshot).
    """
    if model.trained_until > from_date:
        raise ValueError(
            f"model trained until {model.trained_until} overlaps the window from {from_date}"
        )
    start, end = _midnight(from_date), _midnight(to_date)
    before = [
        h
        for h in histories
        if h.purchased_at < _midnight(model.trained_until)
        and h.status is Status.DELIVERED
        and h.delivered_at is not None
    ]
    if not before:
        raise ValueError("no delivered orders before the cutoff for the constant baseline")
    totals = np.array(
        [
            (h.delivered_at - h.purchased_at).total_seconds() / DAY
            for h in before
            if h.delivered_at is not None
        ]
    )
    c10, c50, c90 = (float(v) for v in np.quantile(totals, [0.1, 0.5, 0.9]))
    window = [h for h in histories if start <= h.purchased_at < end and h.promised_at]
    index = index or HistoryIndex(histories)
    rows: list[Snapshot] = list(snapshots(window, index))
    days = model.quantile_days(rows)
    reports = []
    for stage in Stage:
        sel = [i for i, r in enumerate(rows) if r.stage is stage]
        if not sel:
            continue
        picked = [rows[i] for i in sel]
        q = days[sel]
        since = np.array([(r.at - r.purchased_at).total_seconds() / DAY for r in picked])
        actual = np.array(
            [
                (r.delivered_at - r.purchased_at).total_seconds() / DAY
                for r in picked
                if r.delivered_at is not None
            ]
        )
        store = np.array(
            [
                (r.promised_at - r.purchased_at).total_seconds() / DAY
                for r in picked
                if r.promised_at is not None
            ]
        )
        store_day = np.array([r.promised_at.toordinal() for r in picked if r.promised_at])
        delivered_day = np.array(
            [
                shopper_day(r.delivered_at, r.clock, r.shopper).toordinal()
                for r in picked
                if r.delivered_at is not None
            ]
        )
        ours = _scores(
            actual,
            since + q[:, len(model.quantiles) // 2],
            _days_of(picked, [r.at for r in picked], q[:, -1]),
            delivered_day,
            store_day,
            since + q[:, 0],
        )
        theirs = _scores(actual, store, store_day, delivered_day, store_day, None)
        constant = _scores(
            actual,
            np.full_like(actual, c50),
            _days_of(picked, [r.purchased_at for r in picked], np.full_like(actual, c90)),
            delivered_day,
            store_day,
            np.full_like(actual, c10),
        )
        reports.append(StageReport(stage.value, len(sel), ours, theirs, constant))
    return EvaluationReport(
        from_date.isoformat(),
        to_date.isoformat(),
        model.version,
        model.trained_until.isoformat(),
        len({r.order_id for r in rows}),
        tuple(reports),
    )


def format_report(report: EvaluationReport) -> str:
    """A plain-text table: one block per stage, ours / store / constant side by side."""
    lines = [
        f"Orders purchased {report.from_date} .. {report.to_date} (exclusive), delivered: "
        f"{report.orders}; model {report.model_version or '(unsaved)'} trained until "
        f"{report.trained_until}",
        f"{'stage':<8} {'n':>5}  {'promise':<9} {'MAE d':>6} {'late %':>7} "
        f"{'earlier d':>9} {'p10-p90 %':>9}",
    ]
    for s in report.stages:
        for name, sc in (("model", s.model), ("store", s.store), ("constant", s.constant)):
            cov = "" if sc.coverage is None else f"{100 * sc.coverage:.1f}"
            lines.append(
                f"{s.stage if name == 'model' else '':<8} "
                f"{s.orders if name == 'model' else '':>5}  {name:<9} {sc.mae_days:>6.2f} "
                f"{100 * sc.late_rate:>7.1f} {sc.earlier_days:>9.2f} {cov:>9}"
            )
    return "\n".join(lines)
