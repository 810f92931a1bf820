"""Walk-forward backtest: train before each month, evaluate the months after it.

For every month start ``m`` from ``from_date`` while ``m + horizon`` months still ends
by ``to_date``, a model is trained on what was known on ``m``
(:func:`rumbo.eta.model.train`) and evaluated on the orders purchased in ``[m, m +
horizon)`` (:func:`rumbo.eta.evaluation.evaluate`). One window proves little; many
windows the model was not tuned on are the evidence.

The goals each window is checked against (only windows with at least
:data:`MIN_DELIVERED` delivered orders count):

- at every stage the model's MAE is at most :data:`MAE_RATIO` × the best simple guess's;
- the p10–p90 range holds 80 ± 5 % of deliveries;
- the p90 day is late for at most 10 % of orders at every stage;
- from the hand-over, late no more often than the store's own promise while promising
  at least one day earlier on average.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rumbo.eta.evaluation import EvaluationReport, StageReport, evaluate
from rumbo.eta.features import HistoryIndex
from rumbo.eta.history import OrderHistory
from rumbo.eta.model import TrainingParams, train

MIN_DELIVERED = 300
MAE_RATIO = 0.85
COVERAGE = (0.75, 0.85)
MAX_LATE = 0.10
MIN_EARLIER_DAYS = 1.0
GOALS: tuple[str, ...] = ("mae", "coverage", "late", "handover")


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def stage_goals(stage: StageReport) -> dict[str, bool]:
    """Which goals one stage of one window meets (``handover`` only at ``shipped``)."""
    best = stage.baselines[stage.best_baseline].mae_days
    cov = stage.model.coverage
    goals = {
        "mae": stage.model.mae_days <= MAE_RATIO * best,
        "coverage": cov is not None and COVERAGE[0] <= cov <= COVERAGE[1],
        "late": stage.model.late_rate <= MAX_LATE,
    }
    if stage.stage == "shipped":
        goals["handover"] = (
            stage.model.late_rate <= stage.store.late_rate
            and stage.model.earlier_days >= MIN_EARLIER_DAYS
        )
    return goals


@dataclass(frozen=True, slots=True)
class Window:
    report: EvaluationReport

    @property
    def counts(self) -> bool:
        return self.report.orders >= MIN_DELIVERED

    def goals(self) -> dict[str, bool]:
        """Each goal met at every stage of this window."""
        out: dict[str, bool] = {}
        for stage in self.report.stages:
            for name, met in stage_goals(stage).items():
                out[name] = out.get(name, True) and met
        return out


@dataclass(frozen=True, slots=True)
class Backtest:
    from_date: date
    to_date: date
    horizon_months: int
    windows: tuple[Window, ...]

    def summary(self) -> dict[str, Any]:
        """Per goal and stage: in how many of the counted windows it was met."""
        counted = [w for w in self.windows if w.counts]
        per_stage: dict[str, dict[str, int]] = {}
        for w in counted:
            for stage in w.report.stages:
                for name, met in stage_goals(stage).items():
                    per_stage.setdefault(stage.stage, {}).setdefault(name, 0)
                    per_stage[stage.stage][name] += int(met)
        return {
            "windows": len(self.windows),
            "counted": len(counted),
            "met_in_every_stage": {
                g: sum(1 for w in counted if w.goals().get(g, False)) for g in GOALS
            },
            "met_per_stage": per_stage,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_date.isoformat(),
            "to": self.to_date.isoformat(),
            "horizon_months": self.horizon_months,
            "min_delivered": MIN_DELIVERED,
            "windows": [
                {**w.report.as_dict(), "counted": w.counts, "goals": w.goals()}
                for w in self.windows
            ],
            "summary": self.summary(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def backtest(
    histories: Sequence[OrderHistory],
    from_date: date,
    to_date: date,
    horizon_months: int,
    *,
    params: TrainingParams | None = None,
) -> Backtest:
    """Walk forward month by month (see the module doc)."""
    if horizon_months < 1:
        raise ValueError("the horizon must be at least one month")
    start = from_date if from_date.day == 1 else add_months(from_date, 1)
    if add_months(start, horizon_months) > to_date:
        raise ValueError(
            f"no window of {horizon_months} month(s) fits between {from_date} and {to_date}"
        )
    index = HistoryIndex(histories)
    windows = []
    cutoff = start
    while add_months(cutoff, horizon_months) <= to_date:
        model = train(histories, cutoff, params=params)
        report = evaluate(model, histories, cutoff, add_months(cutoff, horizon_months), index=index)
        windows.append(Window(report))
        cutoff = add_months(cutoff, 1)
    return Backtest(start, to_date, horizon_months, tuple(windows))


_GOAL_LABELS = {
    "mae": f"MAE <= {MAE_RATIO} x best guess",
    "coverage": "p10-p90 holds 75-85 %",
    "late": "p90 day late <= 10 %",
    "handover": "shipped: late <= store, >= 1 day earlier",
}


def format_backtest(result: Backtest) -> str:
    """One line per window and stage, then how often each goal was met."""
    lines = [
        f"Walk-forward backtest {result.from_date} .. {result.to_date}, "
        f"{result.horizon_months}-month windows (counted: >= {MIN_DELIVERED} delivered)",
        f"{'window':<23} {'n':>5} {'stage':<8} {'MAE':>5} {'best guess':<16} {'ratio':>5} "
        f"{'range %':>7} {'late %':>6} {'store %':>7} {'earlier':>7}  goals",
    ]
    for w in result.windows:
        r = w.report
        span = f"{r.from_date}..{r.to_date}"
        for stage in r.stages:
            best = stage.best_baseline
            best_mae = stage.baselines[best].mae_days
            cov = stage.model.coverage
            met = stage_goals(stage)
            marks = " ".join(f"{g}{'+' if ok else '-'}" for g, ok in met.items())
            lines.append(
                f"{span:<23} {stage.orders:>5} {stage.stage:<8} {stage.model.mae_days:>5.2f} "
                f"{best:<11}{best_mae:>5.2f} "
                f"{stage.model.mae_days / best_mae if best_mae else 0.0:>5.2f} "
                f"{'' if cov is None else f'{100 * cov:.1f}':>7} "
                f"{100 * stage.model.late_rate:>6.1f} {100 * stage.store.late_rate:>7.1f} "
                f"{stage.model.earlier_days:>+7.2f}  {marks}"
                + ("" if w.counts else "  (not counted)")
            )
    summary = result.summary()
    lines.append(f"Goals met, of {summary['counted']} counted windows:")
    for goal in GOALS:
        per = ", ".join(
            f"{stage} {goals[goal]}"
            for stage, goals in summary["met_per_stage"].items()
            if goal in goals
        )
        lines.append(
            f"  {_GOAL_LABELS[goal]:<42} every stage {summary['met_in_every_stage'][goal]}  ({per})"
        )
    return "\n".join(lines)
