"""The demo store's year of history: written once, with a model that predicts its open orders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.demo.past import seed_past
from rumbo.eta.model import EtaModel
from rumbo.models import Order
from tests.conftest import Tenant

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_past_is_written_once_and_its_open_orders_are_predicted(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    past = seed_past(db, tenant.merchant_id, models, NOW, orders=600)
    assert past is not None
    assert EtaModel.load_current(models).version == past.model_version
    with db.session(write=False) as session:
        placed = session.scalars(
            select(Order.placed_at).where(Order.merchant_id == tenant.merchant_id)
        ).all()
        predicted = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.merchant_id == tenant.merchant_id, Order.eta_estimated.is_not(None))
        )
    assert len(placed) == 600
    assert all(p <= NOW for p in placed)
    assert min(placed) < datetime(2026, 1, 1, tzinfo=UTC)  # a year back
    assert predicted == past.scored > 0
    assert seed_past(db, tenant.merchant_id, models, NOW, orders=600) is None
    with db.session(write=False) as session:
        count = session.scalar(
            select(func.count()).select_from(Order).where(Order.merchant_id == tenant.merchant_id)
        )
    assert count == 600
