"""Quantile model: ordered quantiles, risk flags, versioned files, honest evaluation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from rumbo.eta.days import day_end, shopper_day
from rumbo.eta.evaluation import _Baselines, evaluate, format_report
from rumbo.eta.features import (
    FEATURE_NAMES,
    HistoryIndex,
    Snapshot,
    Stage,
    features_at,
    snapshots,
    stage_entries,
    stage_moments,
)
from rumbo.eta.history import OrderHistory, generate_history
from rumbo.eta.model import (
    EtaModel,
    Risk,
    TrainingParams,
    _calibrate,
    _on_time_probability,
    _still_open,
    late_after_promise,
    train,
    training_orders,
)
from rumbo.events.status import Status

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
    table = format_report(report)
    for name in ("store", "train median", "last 100", "state median", "stage-aware"):
        assert name in table


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
    # Orders still on their way when the history ends were never delivered: they count.
    last = max(h.delivered_at or h.shipped_at or h.purchased_at for h in HISTORY)
    # (returned to the seller included: the shopper never got the parcel).
    open_ = [
        h for h in window if h.shipped_at and h.status not in (Status.DELIVERED, Status.CANCELLED)
    ]
    assert shipped.undelivered == len(open_) > 0
    judged_open = [h for h in open_ if h.promised_at and h.promised_at.date() < last.date()]
    delivered = [r for r in rows if r.delivered_at is not None]
    assert len(delivered) == shipped.orders
    store = [late_after_promise(h) for h in window if h.shipped_at and h.delivered_at]
    expected_store = (sum(map(bool, store)) + len(judged_open)) / (len(store) + len(judged_open))
    assert shipped.store.late_rate == pytest.approx(expected_store, abs=1e-4)
    # The model's safe days of the delivered orders, by the same rule; open orders whose
    # safe day ended before the history did are late too.
    late_delivered = _late_share(model, delivered) * len(delivered)
    assert shipped.model.late_rate >= late_delivered / (len(delivered) + len(open_)) - 1e-4
    assert shipped.model.late_rate <= (late_delivered + len(open_)) / len(delivered) + 1e-4


def _order(
    order_id: str,
    purchased: datetime,
    delivered_after_days: float | None,
    *,
    state: str = "SP",
    status: Status = Status.DELIVERED,
) -> OrderHistory:
    delivered = (
        purchased + timedelta(days=delivered_after_days)
        if delivered_after_days is not None
        else None
    )
    return OrderHistory(
        order_id=order_id,
        purchased_at=purchased,
        approved_at=purchased + timedelta(hours=1),
        shipped_at=purchased + timedelta(days=1),
        delivered_at=delivered,
        promised_at=datetime.combine(purchased.date() + timedelta(days=20), datetime.min.time()),
        status=status,
        source_status=status.value,
        customer_state=state,
        seller_state="SP",
        country="BR",
    )


def test_simple_guesses_learn_only_what_was_known_at_the_cutoff() -> None:
    cutoff = date(2024, 3, 1)
    start = datetime(2024, 1, 1, 12)
    # Delivered before the cutoff: 40 to SP in 4 days, 40 to AM in 12 days.
    known = [_order(f"sp{i}", start + timedelta(days=i), 4.0) for i in range(40)] + [
        _order(f"am{i}", start + timedelta(days=i), 12.0, state="AM") for i in range(40)
    ]
    # Bought before the cutoff but delivered after it: unknown on the cutoff day.
    straddling = [_order(f"late{i}", datetime(2024, 2, 27), 30.0) for i in range(50)]
    later = [
        _order(f"new{i}", datetime(2024, 3, 5, 9) + timedelta(hours=i), 2.0) for i in range(120)
    ]
    guesses = _Baselines([*known, *straddling, *later], cutoff)
    assert guesses.overall[1] == pytest.approx(8.0)  # the median of 4s and 12s, not of 30s
    assert guesses.by_state["SP"][1] == pytest.approx(4.0)
    assert guesses.by_state["AM"][1] == pytest.approx(12.0)
    assert guesses.by_stage[Stage.SHIPPED][1] == pytest.approx(7.0)  # 3 or 11 days after hand-over
    # The last 100 deliveries before a moment: by mid-March the new fast ones dominate.
    assert guesses.recent(datetime(2024, 3, 20))[1] == pytest.approx(2.0)
    assert guesses.recent(datetime(2024, 2, 28))[1] == pytest.approx(8.0)


def test_a_carrier_date_before_the_purchase_is_read_as_a_hand_over_at_approval() -> None:
    bought = datetime(2018, 8, 16, 13, 50, 48)
    order = replace(
        _order("skewed", bought, 5.0),
        approved_at=datetime(2018, 8, 16, 14, 5, 13),
        shipped_at=datetime(2018, 8, 16, 13, 27),
    )
    assert stage_entries(order) == [
        (Stage.PLACED, bought),
        (Stage.SHIPPED, datetime(2018, 8, 16, 14, 5, 13)),
    ]
    index = HistoryIndex([order])
    first, second = (features_at(order, at, index) for at in stage_moments(order))
    assert (first.stage, second.stage) == (Stage.PLACED, Stage.SHIPPED)
    elapsed = FEATURE_NAMES.index("elapsed_in_stage_days")
    assert first.features[elapsed] == 0.0
    assert second.features[FEATURE_NAMES.index("handling_days")] >= 0.0


def test_the_variant_is_chosen_on_the_slice_before_the_cutoff_and_recorded() -> None:
    candidates = ((("anchored", False),), (("anchored", True),))
    chosen = train(HISTORY, UNTIL, params=replace(PARAMS, candidates=candidates))
    selection = chosen.metadata["selection"]
    assert len(selection["mae_days"]) == 2
    best = min(selection["mae_days"], key=selection["mae_days"].get)
    assert selection["chosen"] == best
    # The model predicts as the variant it was trained as.
    picked = json.loads(best)
    assert chosen.metadata["params"]["anchored"] == picked["anchored"]
    variant = replace(PARAMS, anchored=picked["anchored"], half_life_days=picked["half_life_days"])
    again = train(HISTORY, UNTIL, params=variant)
    rows = list(snapshots(HISTORY[-100:], HistoryIndex(HISTORY)))
    assert (again.quantile_days(rows) == chosen.quantile_days(rows)).all()


def test_an_unchecked_safe_day_is_never_sooner_than_the_stores_day() -> None:
    """Too little history before the calibration slice: the store's day is the floor."""
    early = train(HISTORY, date(2024, 3, 1), params=replace(PARAMS, calibration_days=60))
    assert early.metadata["band_shifts"] == {}
    assert early.metadata["promise_floor"] == [0, 1, 2]
    rows = [
        r
        for r in snapshots(
            [h for h in HISTORY if h.purchased_at.date() >= UNTIL], HistoryIndex(HISTORY)
        )
        if r.promised_at is not None
    ][:200]
    for row, p in zip(rows, early.predict_many(rows), strict=True):
        assert row.promised_at is not None
        assert p.latest.date() >= row.promised_at.date()
    assert train(HISTORY, UNTIL, params=PARAMS).metadata["promise_floor"] == []


def test_the_check_counts_the_slices_orders_still_on_their_way_as_known_at_the_cutoff() -> None:
    start, until = date(2024, 4, 1), date(2024, 7, 1)
    limit = datetime(2024, 7, 1)
    bought = datetime(2024, 5, 10, 12)
    base = replace(
        HISTORY[0],
        purchased_at=bought,
        approved_at=bought + timedelta(hours=1),
        shipped_at=bought + timedelta(days=2),
        delivered_at=bought + timedelta(days=5),
        status=Status.DELIVERED,
    )
    orders = [
        replace(base, order_id="fast"),  # delivered before the cutoff: the usual check
        replace(base, order_id="slow", delivered_at=limit + timedelta(days=9)),
        replace(base, order_id="lost", delivered_at=None, status=Status.IN_TRANSIT),
        replace(
            base,
            order_id="unshipped",
            shipped_at=limit + timedelta(days=2),
            delivered_at=None,
            status=Status.IN_TRANSIT,
        ),
        replace(base, order_id="cancelled", delivered_at=None, status=Status.CANCELLED),
        replace(base, order_id="undated", delivered_at=None),  # delivered, but when?
        replace(
            base, order_id="too-young", purchased_at=limit - timedelta(days=10), delivered_at=None
        ),
    ]
    got = {h.order_id: h for h in _still_open(reversed(orders), start, until)}
    assert list(got) == ["lost", "slow", "unshipped"]
    for h in got.values():
        # Read as known on the cutoff: delivered then at the earliest, nothing later.
        assert h.delivered_at == limit
        assert h.status is Status.DELIVERED
    assert got["unshipped"].shipped_at is None
    assert got["slow"].shipped_at == base.shipped_at
