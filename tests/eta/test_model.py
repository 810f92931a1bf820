"""Quantile model: ordered quantiles, risk flags, versioned files, honest evaluation."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from rumbo.eta.evaluation import evaluate, format_report
from rumbo.eta.features import HistoryIndex, snapshots
from rumbo.eta.history import generate_history
from rumbo.eta.model import EtaModel, Risk, TrainingParams, _on_time_probability, train

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
