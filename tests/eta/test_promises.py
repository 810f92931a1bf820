"""Promise accuracy: the dates shown are kept, and scored against the real delivery."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from rumbo.analytics.report import build_report, render_standalone
from rumbo.db import Database
from rumbo.eta.history import generate_history
from rumbo.eta.model import TrainingParams, train
from rumbo.eta.rescore import rescore_merchant
from rumbo.eta.store import EtaService, import_histories
from rumbo.events.service import NormalizedEvent, ingest
from rumbo.events.status import Status
from rumbo.models import EtaPromise, Order
from tests.conftest import NOW, Tenant

HISTORY = generate_history(700, seed=11, start=date(2024, 1, 1), days=200)
SCORED_AT = datetime(2024, 7, 19, 12, tzinfo=UTC)  # the history was exported on 19 July


def _promises(db: Database) -> list[EtaPromise]:
    with db.session(write=False) as session:
        return list(session.scalars(select(EtaPromise).order_by(EtaPromise.id)))


def test_dates_shown_are_kept_and_scored_per_carrier_and_lane(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    import_histories(db, tenant.merchant_id, HISTORY, NOW)
    train(HISTORY, date(2024, 6, 1), params=TrainingParams(max_iter=20)).save(tmp_path)
    service = EtaService(db, tmp_path)
    with db.session() as session:
        scored = rescore_merchant(session, service, tenant.merchant_id, SCORED_AT).scored
    shown = _promises(db)
    assert len(shown) == scored > 0
    assert len({p.order_id for p in shown}) == scored
    # Scored again a minute later: the days shown are the same, no new promise.
    with db.session() as session:
        rescore_merchant(session, service, tenant.merchant_id, SCORED_AT + timedelta(minutes=1))
    assert len(_promises(db)) == scored

    # Two of those orders arrive: one inside the range shown, one a day after it.
    first, second = shown[0], shown[1]
    arrivals = {
        first.order_id: first.earliest + (first.latest - first.earliest) / 2,
        second.order_id: second.latest + timedelta(days=1),
    }
    with db.session() as session:
        orders = {
            o.id: o for o in session.scalars(select(Order).where(Order.id.in_(list(arrivals))))
        }
        events = [
            (
                i,
                NormalizedEvent(
                    source="carrier",
                    event_id=f"test:delivered:{order_id}",
                    status=Status.DELIVERED,
                    occurred_at=at,
                    raw="{}",
                    external_id=orders[order_id].external_id,
                    description="Delivered",
                ),
            )
            for i, (order_id, at) in enumerate(arrivals.items())
        ]
        assert all(
            r.outcome == "accepted"
            for r in ingest(session, tenant.merchant_id, events, NOW).results
        )
        placed = min(o.placed_at for o in orders.values()).date()
        # An order delivered before any date was shown has no promise to score.
        delivered_before = session.scalar(
            select(func.count()).select_from(Order).where(Order.status == "delivered")
        )
    assert delivered_before is not None
    assert delivered_before > 2

    with db.session(write=False) as session:
        report = build_report(
            session, tenant.merchant_id, placed, date(2024, 8, 1), NOW, language="pt-BR"
        )
    pa = report.promises
    assert pa.total.orders == 2
    assert pa.total.range_held_rate == 0.5
    assert pa.total.broken_rate == 0.5
    expected = (
        sum(
            abs((p.estimated - arrivals[p.order_id]).total_seconds()) / 86400
            for p in (first, second)
        )
        / 2
    )
    assert pa.total.distance_days is not None
    assert abs(pa.total.distance_days - expected) < 1e-6
    assert sum(g.orders for g in pa.carriers) == 2
    assert sum(g.orders for g in pa.lanes) == 2
    html = render_standalone(report)
    assert 'id="rr-promises"' in html
    assert "Precisão das promessas" in html
    assert "Promessa quebrada" in html
    assert "Promise broken" in render_standalone(report, "en")
    assert "Promesa incumplida" in render_standalone(report, "es")
