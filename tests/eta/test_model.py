"""Quantile model: ordered quantiles, risk flags, versioned files, honest evaluation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from rumbo.eta.days import day_end, shopper_day
from rumbo.eta.evaluation import evaluate, format_report
from rumbo.eta.features import HistoryIndex, Snapshot, snapshots
from rumbo.eta.history import generate_history
from rumbo.eta.model import (
    EtaModel,
    Risk,
    TrainingParams,
    _calibrate,
    _on_time_probability,
    late_after_promise,
    train,
    training_orders,
)

HISTORY = generate_history(3000, seed=5, start=date(2024, 1, 1), days=240)
UNTIL = date(2024, 7, 1)
PARAMS = TrainingParams(max_iter=40, calibration_days=60)


@pytest.fixture(scope="module")
def model() -> EtaModel:
    return train(HISTORY, UNTIL, params=PARAMS)


def test_quantiles_are_ordered_and_dates_follow(model: EtaModel) -> None:
    index = HistoryIndex(HISTORY)
    rows = list(snapshots([h for h in HISTORY if h.purchased_at.date() >= UNTIL], index))
    days = model.quantile_days(rows)
    assert (days[:, 0] <= days[:, 1]).all()
    assert (days[:, 1] <= days[:, 2]).all()
    for row, p in zip(rows[:50], model.predict_many(rows[:50]), strict=True):
        assert row.at <= p.earliest <= p.estimated_delivery <= p.latest
        assert p.on_time_probability is not None
        assert 0.0 <= p.on_time_probability <= 1.0
        assert (p.risk is Risk.LATE) == (p.on_time_probability < 0.5)


def test_on_time_probability_follows_the_predicted_quantiles() -> None:
    qs, days = (0.1, 0.5, 0.9), (2.0, 5.0, 9.0)
    assert _on_time_probability(qs, days, 5.0) == pytest.approx(0.5)
    assert _on_time_probability(qs, days, 0.0) == 0.0
    assert _on_time_probability(qs, days, 1.0) == pytest.approx(0.05)
    assert 0.9 < _on_time_probability(qs, days, 15.0) < 1.0


def test_a_broken_promise_is_late(model: EtaModel) -> None:
    order = next(h for h in HISTORY if h.purchased_at.date() >= UNTIL and h.shipped_at)
    assert order.promised_at is not None
    from rumbo.eta.features import features_at

    row = features_at(order, order.promised_at + timedelta(days=2), HistoryIndex(HISTORY))
    prediction = model.predict(row)
    assert prediction.risk is Risk.LATE
    assert prediction.on_time_probability == 0.0


def test_save_and_load_the_current_version(model: EtaModel, tmp_path: Path) -> None:
    folder = model.save(tmp_path)
    assert (tmp_path / "CURRENT").read_text().strip() == folder.name == model.version
    loaded = EtaModel.load_current(tmp_path)
    rows = list(snapshots(HISTORY[-100:], HistoryIndex(HISTORY)))
    assert (loaded.quantile_days(rows) == model.quantile_days(rows)).all()
    assert loaded.trained_until == UNTIL
    (folder / "model.joblib").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="does not match"):
        EtaModel.load(folder)


def test_evaluation_refuses_a_window_the_model_has_seen(model: EtaModel) -> None:
    with pytest.raises(ValueError, match="overlaps"):
        evaluate(model, HISTORY, UNTIL - timedelta(days=1), UNTIL + timedelta(days=30))


def test_evaluation_reports_each_stage_next_to_the_store(model: EtaModel) -> None:
    report = evaluate(model, HISTORY, UNTIL, UNTIL + timedelta(days=60))
    assert [s.stage for s in report.stages] == ["placed", "paid", "shipped"]
    assert report.orders > 100
    for s in report.stages:
        assert s.model.mae_days < s.store.mae_days
    assert '"stages"' in report.to_json()
    assert "constant" in format_report(report)


def test_latest_is_the_last_second_of_the_safe_day_on_the_shoppers_clock(model: EtaModel) -> None:
    rows = list(
        snapshots([h for h in HISTORY if h.purchased_at.date() >= UNTIL], HistoryIndex(HISTORY))
    )
    days = model.quantile_days(rows[:200])
    for row, d, p in zip(rows[:200], days, model.predict_many(rows[:200]), strict=True):
        safe_day = shopper_day(row.at + timedelta(days=float(d[-1])), row.clock, row.shopper)
        assert p.latest == day_end(safe_day, row.clock, row.shopper)


def _late_share(model: EtaModel, rows: list[Snapshot]) -> float:
    days = model.quantile_days(rows)
    late = [
        shopper_day(r.delivered_at, r.clock, r.shopper)
        > shopper_day(r.at + timedelta(days=float(d[-1])), r.clock, r.shopper)
        for r, d in zip(rows, days, strict=True)
        if r.delivered_at is not None
    ]
    return sum(late) / len(late)


def test_the_safe_day_is_calibrated_to_the_late_target_on_unseen_orders() -> None:
    """Split conformal: on the orders it was calibrated on, the safe day breaks no more
    often than the target — widening for a strict target, narrowing for a loose one."""
    index = HistoryIndex(HISTORY)
    split = date(2024, 5, 1)
    regressors = train(HISTORY, split, params=replace(PARAMS, calibration_days=0)).regressors
    unseen = [h for h in HISTORY if split <= h.purchased_at.date() < UNTIL]
    rows = list(snapshots(unseen, index))
    high_shifts = []
    for target in (0.03, 0.1, 0.4):
        shifts = _calibrate(regressors, rows, anchored=False, late_target=target)
        calibrated = EtaModel(regressors, split, {"band_shifts": shifts, "params": {}})
        assert _late_share(calibrated, rows) <= target
        # Conformal, not just conservative: the share lands near the target.
        assert _late_share(calibrated, rows) >= target / 2
        high_shifts.append([shifts[s][1] for s in ("0", "1", "2")])
    assert high_shifts[0] >= high_shifts[1] >= high_shifts[2]
    assert min(high_shifts[2]) < 0  # a loose target pulls the safe day in


def test_the_late_target_is_the_p90s_own_one_in_ten_or_the_stores_record(
    model: EtaModel,
) -> None:
    kept = [
        flag for h in training_orders(HISTORY, UNTIL) if (flag := late_after_promise(h)) is not None
    ]
    assert model.metadata["store_late_rate"] == pytest.approx(sum(kept) / len(kept), abs=1e-4)
    assert model.metadata["late_target"] == 0.1
    as_store = train(HISTORY, UNTIL, params=replace(PARAMS, late_target=None))
    assert as_store.metadata["late_target"] == min(0.1, model.metadata["store_late_rate"])


def test_evaluation_judges_every_promise_by_the_same_day_rule(model: EtaModel) -> None:
    end = UNTIL + timedelta(days=60)
    report = evaluate(model, HISTORY, UNTIL, end)
    window = [h for h in HISTORY if UNTIL <= h.purchased_at.date() < end and h.promised_at]
    rows = [r for r in snapshots(window, HistoryIndex(HISTORY)) if r.stage.value == "shipped"]
    shipped = next(s for s in report.stages if s.stage == "shipped")
    assert shipped.model.late_rate == pytest.approx(_late_share(model, rows), abs=1e-4)
    store = [late_after_promise(h) for h in window if h.shipped_at and h.delivered_at]
    assert shipped.store.late_rate == pytest.approx(sum(map(bool, store)) / len(store), abs=1e-4)
