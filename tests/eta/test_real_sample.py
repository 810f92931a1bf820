"""End to end on the real Olist sample: train before 2018, evaluate the 2,187 after.

The targets (issue 6): at every stage the median's MAE is at most half the store's;
once the parcel is with the carrier, our p90 is late no more often than the store's
promise while promising an earlier day; and the constant "median of the training set"
guess is clearly beaten: a far smaller error, and a safe day that comes sooner without
breaking notably more often.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rumbo.eta.evaluation import evaluate
from rumbo.eta.model import train
from rumbo.eta.olist import read_olist


def test_model_beats_the_store_and_the_constant_on_the_real_sample(shared_data: Path) -> None:
    histories = list(read_olist(shared_data / "olist"))
    model = train(histories, date(2018, 1, 1))
    report = evaluate(model, histories, date(2018, 1, 1), date(2018, 9, 1))
    assert report.orders == 2187
    by_stage = {s.stage: s for s in report.stages}
    assert set(by_stage) == {"placed", "paid", "shipped"}
    for s in report.stages:
        assert s.model.mae_days <= s.store.mae_days / 2
        assert s.model.mae_days <= s.constant.mae_days - 0.9
        assert s.model.earlier_days >= s.constant.earlier_days + 1
        assert s.model.late_rate <= s.constant.late_rate + 0.01
    shipped = by_stage["shipped"]
    assert shipped.model.late_rate <= shipped.store.late_rate
    assert shipped.model.earlier_days > 0
