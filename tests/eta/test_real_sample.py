"""End to end on the real Olist orders: train before 2018, evaluate the 2,187 after.

What holds on this window (benchmarks/eta.md has the walk-forward table across
windows, where not every goal holds): the model's MAE is below every simple guess's and
under half the store's at every stage; the p90 day breaks for at most 1 order in 10,
never-delivered orders included, and no more often than the store's promise; the
p10–p90 range holds at least 75 %. The check before this cutoff (October–November
2017) saw Black Friday's slow orders, so the band is wide here: the range holds 86–88 %
(above the 85 % the backtest asks for) and the safe day comes about as late as the
store's from the hand-over, 4 days later before it (benchmarks/eta.md).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rumbo.eta.evaluation import evaluate
from rumbo.eta.model import train
from rumbo.eta.olist import read_olist


def test_model_beats_the_store_and_every_simple_guess_on_the_real_orders(
    shared_data: Path,
) -> None:
    histories = list(read_olist(shared_data / "olist"))
    model = train(histories, date(2018, 1, 1))
    report = evaluate(model, histories, date(2018, 1, 1), date(2018, 9, 1))
    assert report.orders == 2187
    assert report.undelivered == 25  # 23 left "shipped", 2 still being prepared
    by_stage = {s.stage: s for s in report.stages}
    assert set(by_stage) == {"placed", "paid", "shipped"}
    for s in report.stages:
        assert s.model.mae_days <= s.store.mae_days / 2
        assert s.model.mae_days < s.baselines[s.best_baseline].mae_days
        assert s.model.late_rate <= 0.10
        assert s.model.late_rate <= s.store.late_rate
        assert s.model.coverage is not None
        assert 0.75 <= s.model.coverage <= 0.90
    # From the hand-over the safe day is within half a day of the store's.
    assert by_stage["shipped"].model.earlier_days >= -0.5
