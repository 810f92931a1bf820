"""Quantile gradient boosting of the days left until delivery, and its model files.

One :class:`~sklearn.ensemble.HistGradientBoostingRegressor` per quantile (p10, p50,
p90) learns the remaining days from a snapshot's features; it is trained on
``log1p(days)`` because delivery times are skewed and a quantile survives any
increasing transform. Predictions are turned into dates, a probability of arriving by
the store's promised day, and a risk flag. The p90 is read as a calendar day (the
"safe day" we could promise) and calibrated as such: see :func:`_calibrate`.

Model files: ``<root>/<version>/model.joblib`` + ``metadata.json``, where version is
``<UTC timestamp>-<hash of the model bytes>``; ``<root>/CURRENT`` names the version the
server loads. joblib files are pickles: load only model files you wrote yourself.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]  # joblib ships no type information
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from rumbo.eta.days import day_end, day_start, history_zone, shopper_day, shopper_zone
from rumbo.eta.features import CATEGORICAL, DAY, FEATURE_NAMES, HistoryIndex, Snapshot, snapshots
from rumbo.eta.history import OrderHistory
from rumbo.events.status import Status

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
# Snapshots at the start of each stage and 1, 3 and 7 days into it (if the order is
# still there): the at-risk job asks about orders that have been waiting a while.
TRAIN_OFFSETS_DAYS: tuple[float, ...] = (0.0, 1.0, 3.0, 7.0)
# Below this probability of arriving by the promised day an order is "at risk".
AT_RISK_BELOW = 0.8
FORMAT = 2
# The safe day is never allowed to break more often than the p90's nominal 1 in 10.
MAX_LATE_TARGET = 0.1
# Orders before the calibration slice needed to measure anything with it.
MIN_CALIBRATION_ORDERS = 50
# Most orders arrive within 30 days; younger ones are still partly unknown at a cutoff.
CENSORING_GUARD_DAYS = 30


class Risk(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    LATE = "late"  # the promise is broken, or more likely than not to be


@dataclass(frozen=True, slots=True)
class Prediction:
    """When the order will arrive: a likely moment and a range whose end is the last
    second of the safe (p90) day on the shopper's clock."""

    estimated_delivery: datetime
    earliest: datetime
    latest: datetime
    on_time_probability: float | None  # of arriving by the end of the promised day
    risk: Risk


@dataclass(frozen=True, slots=True)
class TrainingParams:
    """Knobs chosen on a validation window inside the training period (see eta.md)."""

    max_iter: int = 100
    learning_rate: float = 0.05
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    offsets_days: tuple[float, ...] = TRAIN_OFFSETS_DAYS
    calibration_days: int = 90  # 0: no conformal calibration of the band
    anchored: bool = False  # True: learn the ratio to the lane's level (see anchor_log_days)
    anchor_load: bool = False  # and move that level with the recent load
    # Recency weight of training orders (None: equal). Off: a 90-day half-life raised
    # the MAE at every stage over the backtest, and scikit-learn's weighted quantile
    # leaves make every fit several times slower.
    half_life_days: float | None = None
    # Variants (TrainingParams overrides) tried on the calibration slice before the
    # cutoff; the one whose likely day is closest there is trained (see ``train``).
    candidates: tuple[tuple[tuple[str, Any], ...], ...] = ()
    # When the safe day cannot be checked on the calibration slice (too little history
    # before it), never promise sooner than the store does.
    promise_floor: bool = True
    # p10 and p90 (not the likely day) move with the recent load, at calibration and
    # prediction alike: the conformal scores are measured relative to the load.
    adaptive_band: bool = True
    # Which load moves the band: "delivered" (recent deliveries against the long run,
    # which follows a jam), "backlog" (orders still open against their recent level,
    # which leads it) or "max" (the larger of the two).
    band_load: str = "delivered"
    # Share of safe days allowed to break on the validation slice: the p90's own 1 in 10.
    # None: the store's day-level late rate over the training orders (at most
    # MAX_LATE_TARGET), which promises later to break no more often than the store did.
    late_target: float | None = MAX_LATE_TARGET
    # Count the slice's orders still on their way at the cutoff in the check of the safe
    # day, with the least they are known to take (see ``_still_open``). On: over the
    # 2017-03 .. 2018-09 backtest it met the late goal in 10 windows of 16 (8 without).
    open_in_check: bool = True
    # The youngest orders left out of the check: bought this few days before the cutoff,
    # their delivery is still mostly unknown.
    check_guard_days: int = CENSORING_GUARD_DAYS
    without: tuple[str, ...] = ()  # features left out (for ablations on validation windows)

    def regressor(self, quantile: float, seed: int) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            loss="quantile",
            quantile=quantile,
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features=list(CATEGORICAL),
            # Above 10,000 rows "auto" holds out a random 10 % by row position: the
            # model would depend on the order the history was read in. Validation is
            # on time instead (the calibration slice, see ``train``).
            early_stopping=False,
            random_state=seed,
        )


def matrix(rows: Sequence[Snapshot]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The feature matrix of ``rows`` (NaN where a value is unknown)."""
    return np.array([r.features for r in rows], dtype=np.float64).reshape(
        len(rows), len(FEATURE_NAMES)
    )


(
    _STAGE,
    _PROMISED,
    _ELAPSED,
    _SINCE_PURCHASE,
    _LANE_TOTAL,
    _LANE_TRANSIT,
    _TOTAL_LOAD,
    _TRANSIT_LOAD,
    _BACKLOG_LOAD,
) = (
    FEATURE_NAMES.index(n)
    for n in (
        "stage",
        "promised_days",
        "elapsed_in_stage_days",
        "since_purchase_days",
        "lane_total_prior",
        "lane_transit_prior",
        "total_load",
        "transit_load",
        "backlog_load",
    )
)


def anchor_log_days(
    x: np.ndarray[Any, np.dtype[np.float64]], load: bool = False
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """log1p of a leak-free reference for the remaining days of each row.

    The reference is the simple guess the model must beat, made a little smarter: the
    lane's long-run days (shrunk towards its state's and the network's, see
    :meth:`~rumbo.eta.features.HistoryIndex.prior`) from purchase before the
    hand-over, from the hand-over after it, less the time already spent. With
    ``load`` it moves by how much slower the last deliveries were than the long run.
    The models learn the *ratio* of the outcome to it; trees cannot extrapolate, so
    a congestion never seen in training reaches the prediction only through this.
    """
    shipped = x[:, _STAGE] == 2
    level = np.where(shipped, x[:, _LANE_TRANSIT], x[:, _LANE_TOTAL])
    if load:
        level = level + np.nan_to_num(np.where(shipped, x[:, _TRANSIT_LOAD], x[:, _TOTAL_LOAD]))
    spent = np.where(shipped, x[:, _ELAPSED], x[:, _SINCE_PURCHASE])
    ref = np.expm1(level) - spent
    ref = np.where(np.isnan(ref), np.where(shipped, 7.0, 10.0), ref)  # no history yet
    out: np.ndarray[Any, np.dtype[np.float64]] = np.log1p(np.maximum(ref, 1.0))
    return out


def _on_time_probability(
    quantiles: Sequence[float], days: Sequence[float], deadline_days: float
) -> float:
    """P(delivered within ``deadline_days``) from a piecewise-linear CDF through the
    predicted quantiles, linear from 0 at 0 days below the first one and an
    exponential tail (matching the last segment's density) above the last one."""
    if deadline_days <= 0:
        return 0.0
    if deadline_days <= days[0]:
        return quantiles[0] * deadline_days / days[0] if days[0] > 0 else quantiles[0]
    for (q0, d0), (q1, d1) in zip(
        zip(quantiles, days, strict=False), zip(quantiles[1:], days[1:], strict=False), strict=False
    ):
        if deadline_days <= d1:
            return q0 + (q1 - q0) * (deadline_days - d0) / (d1 - d0) if d1 > d0 else q1
    qn, dn = quantiles[-1], days[-1]
    density = (qn - quantiles[-2]) / max(dn - days[-2], 1e-6)
    scale = (1.0 - qn) / density
    return qn + (1.0 - qn) * (1.0 - math.exp(-(deadline_days - dn) / scale))


@dataclass
class EtaModel:
    """Trained quantile models plus what is needed to use and audit them."""

    regressors: dict[float, HistGradientBoostingRegressor]
    trained_until: date
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    @property
    def quantiles(self) -> tuple[float, ...]:
        return tuple(sorted(self.regressors))

    def quantile_days(self, rows: Sequence[Snapshot]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Remaining days at each quantile, one row per snapshot, p10 ≤ p50 ≤ p90."""
        if not rows:
            return np.zeros((0, len(self.regressors)))
        x = matrix(rows)
        # For a handful of rows, waking OpenMP threads costs far more than the trees
        # (and on a busy host they spin for milliseconds): predict on one thread.
        with threadpool_limits(limits=1 if len(rows) < 512 else None, user_api="openmp"):
            params = self.metadata.get("params", {})
            raw = _log_days(
                self.regressors, x, bool(params.get("anchored")), bool(params.get("anchor_load"))
            )
        if params.get("adaptive_band"):
            raw = _band_with_load(raw, x, params.get("band_load", "delivered"))
        shifted = _shifted(raw, x, self.metadata.get("band_shifts") or {})
        days: np.ndarray[Any, np.dtype[np.float64]] = np.clip(np.expm1(shifted), 0.0, None)
        floor = self.metadata.get("promise_floor") or []
        if floor:
            # Noon of the store's promised day: that day on every Brazilian clock.
            promised = x[:, _PROMISED] + 0.5
            unchecked = np.isin(x[:, _STAGE], floor) & ~np.isnan(promised)
            days[:, -1] = np.where(unchecked, np.fmax(days[:, -1], promised), days[:, -1])
        return days

    def predict_many(self, rows: Sequence[Snapshot]) -> list[Prediction]:
        """Predictions for ``rows``; each snapshot's ``at`` is the moment "now"."""
        days = self.quantile_days(rows)
        qs = self.quantiles
        mid = qs.index(0.5) if 0.5 in qs else len(qs) // 2
        out = []
        for row, d in zip(rows, days, strict=True):
            at = row.at
            probability: float | None = None
            risk = Risk.ON_TRACK
            if row.promised_at is not None:
                # The shopper reads a promised *day*: on time means before it ends there.
                deadline = day_start(
                    row.promised_at.date() + timedelta(days=1), row.clock, row.shopper
                )
                probability = _on_time_probability(
                    qs, [float(v) for v in d], (deadline - at).total_seconds() / DAY
                )
                if probability < 0.5:
                    risk = Risk.LATE
                elif probability < AT_RISK_BELOW:
                    risk = Risk.AT_RISK
            out.append(
                Prediction(
                    estimated_delivery=at + timedelta(days=float(d[mid])),
                    earliest=at + timedelta(days=float(d[0])),
                    latest=day_end(
                        shopper_day(at + timedelta(days=float(d[-1])), row.clock, row.shopper),
                        row.clock,
                        row.shopper,
                    ),
                    on_time_probability=probability,
                    risk=risk,
                )
            )
        return out

    def predict(self, row: Snapshot) -> Prediction:
        """The prediction for one snapshot (see :func:`rumbo.eta.features.features_at`)."""
        return self.predict_many([row])[0]

    def save(self, root: Path, *, make_current: bool = True) -> Path:
        """Write a new version directory under ``root`` and return it."""
        buffer = io.BytesIO()
        joblib.dump(self.regressors, buffer)
        blob = buffer.getvalue()
        digest = hashlib.sha256(blob).hexdigest()[:10]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.version = f"{stamp}-{digest}"
        folder = root / self.version
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "model.joblib").write_bytes(blob)
        meta = {
            **self.metadata,
            "format": FORMAT,
            "version": self.version,
            "trained_until": self.trained_until.isoformat(),
            "sha256": digest,
            "quantiles": list(self.quantiles),
            "features": list(FEATURE_NAMES),
        }
        (folder / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        if make_current:
            tmp = root / "CURRENT.tmp"
            tmp.write_text(self.version + "\n")
            tmp.replace(root / "CURRENT")  # atomic: a reader sees the old or the new name
        return folder

    @classmethod
    def load(cls, folder: Path) -> EtaModel:
        """Load one version directory; refuses files written for other features."""
        meta = json.loads((folder / "metadata.json").read_text())
        if meta.get("format") != FORMAT or tuple(meta.get("features", ())) != FEATURE_NAMES:
            raise ValueError(f"{folder} was written for another feature set or format")
        blob = (folder / "model.joblib").read_bytes()
        if hashlib.sha256(blob).hexdigest()[:10] != meta["sha256"]:
            raise ValueError(f"{folder}/model.joblib does not match its metadata")
        regressors = joblib.load(io.BytesIO(blob))
        return cls(regressors, date.fromisoformat(meta["trained_until"]), meta, meta["version"])

    @classmethod
    def load_current(cls, root: Path) -> EtaModel:
        """The version ``root/CURRENT`` names (the newest directory if there is no CURRENT)."""
        pointer = root / "CURRENT"
        if pointer.exists():
            return cls.load(root / pointer.read_text().strip())
        versions = sorted(p for p in root.iterdir() if (p / "metadata.json").exists())
        if not versions:
            raise FileNotFoundError(f"no ETA model under {root}")
        return cls.load(versions[-1])


def training_orders(histories: Iterable[OrderHistory], until: date) -> list[OrderHistory]:
    """Orders purchased *and delivered* before ``until``: what was known on that day.

    Keeping an order bought on 30 December but delivered on 10 January would teach
    the model about January, which evaluation after ``until`` must not have seen.
    """
    limit = datetime.combine(until, datetime.min.time())
    return sorted(
        (
            h
            for h in histories
            if h.purchased_at < limit and h.delivered_at is not None and h.delivered_at < limit
        ),
        # A stable order (the source's id) whatever order the history was read in: the
        # trees sum gradients in row order, so the same orders must come as the same rows.
        key=lambda h: h.order_id,
    )


@dataclass(frozen=True, slots=True)
class _TrainingSet:
    """Snapshots as arrays: features, log1p(remaining days), and when each order was
    purchased and delivered (POSIX seconds of the naive times) to select a period."""

    x: np.ndarray[Any, np.dtype[np.float64]]
    y: np.ndarray[Any, np.dtype[np.float64]]
    purchased: np.ndarray[Any, np.dtype[np.float64]]
    delivered: np.ndarray[Any, np.dtype[np.float64]]

    @classmethod
    def of(cls, rows: Iterable[Snapshot], chunk: int = 20_000) -> _TrainingSet:
        # Chunked, so a few hundred thousand snapshots never live as Python objects
        # all at once (each holds its features as a tuple of boxed floats).
        parts: list[tuple[np.ndarray[Any, np.dtype[np.float64]], ...]] = []
        batch: list[Snapshot] = []

        def flush() -> None:
            parts.append(
                (
                    matrix(batch),
                    np.log1p([max(r.remaining_days or 0.0, 0.0) for r in batch]),
                    np.array([r.purchased_at.timestamp() for r in batch], dtype=np.float64),
                    np.array(
                        [r.delivered_at.timestamp() for r in batch if r.delivered_at],
                        dtype=np.float64,
                    ),
                )
            )
            batch.clear()

        for row in rows:
            batch.append(row)
            if len(batch) == chunk:
                flush()
        flush()
        x, y, purchased, delivered = (np.concatenate(col) for col in zip(*parts, strict=True))
        return cls(x, y, purchased, delivered)

    def __len__(self) -> int:
        return len(self.y)

    def before(self, moment: datetime) -> _TrainingSet:
        """The snapshots of orders purchased and delivered before ``moment``."""
        t = moment.timestamp()
        keep = (self.purchased < t) & (self.delivered < t)
        return _TrainingSet(self.x[keep], self.y[keep], self.purchased[keep], self.delivered[keep])


def _fit(
    data: _TrainingSet,
    params: TrainingParams,
    seed: int,
    quantiles: tuple[float, ...] = QUANTILES,
) -> dict[float, HistGradientBoostingRegressor]:
    x = data.x.copy()
    for name in params.without:
        x[:, FEATURE_NAMES.index(name)] = np.nan
    # A column with no value at all (Olist never names a carrier) trips sklearn's
    # binning; a constant column carries the same (no) information and is never split.
    x[:, np.isnan(x).all(axis=0)] = 0.0
    y = data.y - anchor_log_days(x, params.anchor_load) if params.anchored else data.y
    # Below ~100,000 rows the OpenMP threads cost more than they share: on a busy host
    # they spin for each of the trees' histograms (a store's history: 6 s on one
    # thread, 80 s on two contended cores).
    threads = 1 if len(y) < 100_000 else None
    weight = None
    if params.half_life_days:
        # Recency: an order half a half-life older than the newest counts 1/sqrt(2).
        age_days = (data.purchased.max() - data.purchased) / DAY
        weight = np.power(0.5, age_days / params.half_life_days)
    with threadpool_limits(limits=threads, user_api="openmp"):
        return {q: params.regressor(q, seed).fit(x, y, sample_weight=weight) for q in quantiles}


def _log_days(
    regressors: dict[float, HistGradientBoostingRegressor],
    x: np.ndarray[Any, np.dtype[np.float64]],
    anchored: bool,
    load: bool = False,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """log1p(remaining days) at each quantile, sorted: separate quantile models can
    cross on rare inputs, and sorting fixes the order without moving the median much."""
    raw = np.column_stack([regressors[q].predict(x) for q in sorted(regressors)])
    if anchored:
        raw += anchor_log_days(x, load)[:, None]
    return np.sort(raw, axis=1)


def _band_with_load(
    raw: np.ndarray[Any, np.dtype[np.float64]],
    x: np.ndarray[Any, np.dtype[np.float64]],
    band_load: str = "delivered",
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The band's ends moved (in log-days) by the load: how much slower than the long
    run the last deliveries were (see :meth:`~rumbo.eta.features.HistoryIndex.load`),
    how much longer than usual orders are staying open now, or the larger of the two."""
    shipped = x[:, _STAGE] == 2
    delivered = np.nan_to_num(np.where(shipped, x[:, _TRANSIT_LOAD], x[:, _TOTAL_LOAD]))
    backlog = np.nan_to_num(x[:, _BACKLOG_LOAD])
    if band_load == "delivered":
        load = delivered
    elif band_load == "backlog":
        load = backlog
    elif band_load == "max":
        load = np.maximum(delivered, backlog)
    else:
        raise ValueError(f"unknown band load {band_load!r}")
    out = raw.copy()
    out[:, 0] += load
    out[:, -1] += load
    return np.sort(out, axis=1)


def _shifted(
    raw: np.ndarray[Any, np.dtype[np.float64]],
    x: np.ndarray[Any, np.dtype[np.float64]],
    shifts: dict[str, list[float]],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The calibrated band: p10 moved down by the stage's first shift, p90 moved by its
    second (up or down), neither crossing the median."""
    if not shifts:
        return raw
    by_stage = np.array([shifts.get(str(int(s)), [0.0, 0.0]) for s in x[:, 0]])
    out = raw.copy()
    out[:, 0] = np.minimum(raw[:, 0] - by_stage[:, 0], raw[:, 1])
    out[:, -1] = np.maximum(raw[:, -1] + by_stage[:, 1], raw[:, -2])
    return out


def late_after_promise(history: OrderHistory) -> bool | None:
    """Whether the store broke its promise: delivered after the promised day had ended
    on the shopper's clock; ``None`` when not delivered or nothing was promised."""
    if history.delivered_at is None or history.promised_at is None:
        return None
    clock = history_zone(history.country)
    shopper = shopper_zone(history.country, history.customer_state)
    return shopper_day(history.delivered_at, clock, shopper) > history.promised_at.date()


def _needed_log_days(rows: Sequence[Snapshot]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """log1p of the days from each snapshot to the start of its delivery day on the
    shopper's clock: the least a promised day must cover to be kept."""
    needed = []
    for r in rows:
        assert r.delivered_at is not None
        start = day_start(shopper_day(r.delivered_at, r.clock, r.shopper), r.clock, r.shopper)
        needed.append(max(0.0, (start - r.at).total_seconds() / DAY))
    out: np.ndarray[Any, np.dtype[np.float64]] = np.log1p(np.array(needed, dtype=np.float64))
    return out


def _calibrate(
    regressors: dict[float, HistGradientBoostingRegressor],
    rows: Sequence[Snapshot],
    anchored: bool,
    late_target: float,
    load: bool = False,
    adaptive: bool = False,
    band_load: str = "delivered",
) -> dict[str, list[float]]:
    """Per-stage shifts of the p10 and p90 (log-days) that make the band hold on ``rows``.

    Conformalised quantile regression (Romano, Patterson & Candès, "Conformalized
    Quantile Regression", NeurIPS 2019), on orders the models did not see:

    - p10: widened (never narrowed) until 90 % of outcomes fall after it;
    - p90, read as the calendar day a shopper would be promised: moved out *or in* until
      a share ``late_target`` of these orders would have arrived after that day ended.
      Each order's conformity score is the least shift that keeps its promise (the
      promised day is the day of ``max(p50, p90 + shift)``); the shift is their
      ⌈(n + 1)(1 − late_target)⌉-th smallest value, the split-conformal quantile.
    """
    x = matrix(rows)
    y = np.log1p(np.array([max(r.remaining_days or 0.0, 0.0) for r in rows]))
    raw = _log_days(regressors, x, anchored, load)
    if adaptive:
        raw = _band_with_load(raw, x, band_load)
    low, mid, high = raw[:, 0], raw[:, 1], raw[:, -1]
    needed = _needed_log_days(rows)
    # Orders whose likely day already reaches their delivery day are kept by any shift.
    scores = np.where(needed > mid, needed - high, -np.inf)
    stages = x[:, 0]
    shifts: dict[str, list[float]] = {}
    for code in (0.0, 1.0, 2.0):
        sel = stages == code
        n = int(sel.sum())
        if n < 30:
            continue  # too few to measure: unchecked (see ``promise_floor``)
        level = min(1.0, 0.9 * (1 + 1 / n))
        k = min(n, math.ceil((n + 1) * (1.0 - late_target)))
        high_shift = float(np.sort(scores[sel])[k - 1])
        # Past this, every safe day has already collapsed onto the likely day.
        high_shift = max(high_shift, float(np.min(mid[sel] - high[sel])))
        shifts[str(int(code))] = [
            max(0.0, float(np.quantile(low[sel] - y[sel], level))),
            high_shift,
        ]
    return shifts


def _variant(params: TrainingParams) -> str:
    return json.dumps(
        {k: getattr(params, k) for k in ("anchored", "anchor_load", "half_life_days")},
        sort_keys=True,
    )


def _select(
    early: _TrainingSet, rows: Sequence[Snapshot], params: TrainingParams, seed: int
) -> tuple[TrainingParams, dict[str, float]]:
    """The variant of ``params.candidates`` whose p50, fitted on ``early``, has the
    lowest mean absolute error in days on ``rows`` (later orders it did not see):
    validation on time, inside the training period. Ties keep the first."""
    x = matrix(rows)
    actual = np.array([r.remaining_days or 0.0 for r in rows])
    best: tuple[float, TrainingParams] | None = None
    scores: dict[str, float] = {}
    for overrides in params.candidates:
        variant = replace(params, **dict(overrides))
        median = _fit(early, variant, seed, (0.5,))
        days = np.expm1(_log_days(median, x, variant.anchored, variant.anchor_load)[:, 0])
        mae = float(np.mean(np.abs(np.clip(days, 0.0, None) - actual)))
        scores[_variant(variant)] = round(mae, 4)
        if best is None or mae < best[0]:
            best = (mae, variant)
    assert best is not None
    return best[1], scores


def _still_open(
    histories: Iterable[OrderHistory],
    start: date,
    until: date,
    guard_days: int = CENSORING_GUARD_DAYS,
) -> list[OrderHistory]:
    """Orders purchased in ``[start, until - guard_days)`` and not delivered
    before ``until`` (cancelled ones aside), as known on ``until`` and read as delivered
    at ``until``: the least they are known to take.

    These are the slice's slowest orders; a check without them looks rosy. Each one is
    late against any safe day that ended before ``until``, which at the guard's 30 days
    is almost every safe day; against a later one it counts as kept, the one way this
    can still flatter the check.
    """
    low = datetime.combine(start, datetime.min.time())
    limit = datetime.combine(until, datetime.min.time())
    guard = limit - timedelta(days=guard_days)

    def known(t: datetime | None) -> datetime | None:
        return t if t is not None and t < limit else None

    out = [
        replace(
            h,
            approved_at=known(h.approved_at),
            shipped_at=known(h.shipped_at),
            delivered_at=limit,
            status=Status.DELIVERED,
        )
        for h in histories
        if low <= h.purchased_at < guard
        and (h.delivered_at is None or h.delivered_at >= limit)
        and h.status is not Status.CANCELLED
        # Delivered, the source says, but not when: neither late nor on time.
        and not (h.delivered_at is None and h.status is Status.DELIVERED)
    ]
    return sorted(out, key=lambda h: h.order_id)


def train(
    histories: Sequence[OrderHistory],
    until: date,
    *,
    params: TrainingParams | None = None,
    index: HistoryIndex | None = None,
    seed: int = 0,
) -> EtaModel:
    """Fit the quantile models on snapshots of orders completed before ``until``.

    The last ``params.calibration_days`` before ``until`` (less the last 30 days, whose
    slow orders are not known yet) first serve as a validation window: models fitted on
    the earlier orders measure how far the p10 must widen and how far the safe day must
    move (see :func:`_calibrate`); the final models are fitted on everything and keep
    those shifts. ``index`` (recent times) may cover later orders too: every feature
    only reads values known before its snapshot's moment.
    """
    params = params or TrainingParams()
    orders = training_orders(histories, until)
    limit = datetime.combine(until, datetime.min.time())
    # Every order placed before ``until`` counts in the backlog, delivered or not.
    index = index or HistoryIndex(orders, [h for h in histories if h.purchased_at < limit])
    data = _TrainingSet.of(snapshots(orders, index, params.offsets_days))
    if len(data) < 50:
        raise ValueError(f"only {len(data)} training snapshots before {until}; need 50")
    store_late = [flag for h in orders if (flag := late_after_promise(h)) is not None]
    store_rate = float(np.mean(store_late)) if store_late else MAX_LATE_TARGET
    late_target = min(
        MAX_LATE_TARGET, params.late_target if params.late_target is not None else store_rate
    )
    shifts: dict[str, list[float]] = {}
    selection: dict[str, Any] = {}
    if params.calibration_days:
        split = until - timedelta(days=params.calibration_days)
        # What was known on ``split`` (see training_orders), from the same snapshots.
        early = data.before(datetime.combine(split, datetime.min.time()))
        # Orders bought in the last weeks before ``until`` are only in ``orders`` if
        # they were fast; leaving them out of the check keeps it from looking rosy.
        guard = datetime.combine(
            until - timedelta(days=params.check_guard_days), datetime.min.time()
        )
        late_orders = [
            h
            for h in orders
            if datetime.combine(split, datetime.min.time()) <= h.purchased_at < guard
        ]
        check_rows = list(snapshots(late_orders, index, (0.0,)))
        censored = (
            list(
                snapshots(
                    _still_open(histories, split, until, params.check_guard_days), index, (0.0,)
                )
            )
            if params.open_in_check
            else []
        )
        # A model fitted on a handful of orders says nothing about one fitted on all of
        # them (the first months of a store: 7 orders before the slice on Olist's).
        split_at = datetime.combine(split, datetime.min.time())
        early_orders = sum(1 for h in orders if h.delivered_at and h.delivered_at < split_at)
        checkable = early_orders >= MIN_CALIBRATION_ORDERS and bool(check_rows)
        if checkable and params.candidates:
            params, scores = _select(early, check_rows, params, seed)
            selection = {"mae_days": scores, "chosen": _variant(params)}
        if checkable:
            shifts = _calibrate(
                _fit(early, params, seed),
                check_rows + censored,
                params.anchored,
                late_target,
                params.anchor_load,
                params.adaptive_band,
                params.band_load,
            )
    regressors = _fit(data, params, seed)
    metadata = {
        # Stages whose safe day was not checked: the store's day is their floor.
        "promise_floor": sorted(
            int(code)
            for code in ("0", "1", "2")
            if params.promise_floor and params.calibration_days and code not in shifts
        ),
        "orders": len(orders),
        "snapshots": len(data),
        "store_late_rate": round(store_rate, 4),
        "late_target": round(late_target, 4),
        "band_shifts": shifts,
        "selection": selection,
        "params": {k: getattr(params, k) for k in params.__dataclass_fields__},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return EtaModel(regressors, until, metadata)
