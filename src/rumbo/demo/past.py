"""The demo store's past: a year of generated orders and a model trained on them.

So that ``rumbo serve --demo`` shows what a store with history sees: predicted
delivery dates on the tracking pages, orders at risk, and analytics with a year of
lanes, sellers and carriers behind them. Written once; a later start that finds a
current model leaves everything as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rumbo.db import Database
from rumbo.eta.history import generate_history
from rumbo.eta.model import EtaModel, train
from rumbo.eta.rescore import rescore_all
from rumbo.eta.store import EtaService, histories_from_db, import_histories

PAST_ORDERS = 3000
PAST_DAYS = 365


@dataclass(frozen=True)
class Past:
    orders: int
    model_version: str
    scored: int


def seed_past(
    db: Database, merchant_id: int, models_dir: Path, now: datetime, orders: int = PAST_ORDERS
) -> Past | None:
    """Write ``orders`` past orders of the year before ``now`` for the merchant, train the
    delivery-date model on its history and score its open orders; ``None`` when a
    current model already exists (nothing is written then)."""
    try:
        EtaModel.load_current(models_dir)
        return None
    except (FileNotFoundError, ValueError):
        pass
    start = (now - timedelta(days=PAST_DAYS)).date()
    import_histories(
        db, merchant_id, generate_history(orders, seed=7, start=start, days=PAST_DAYS), now
    )
    with db.session(write=False) as session:
        histories = histories_from_db(session, merchant_id)
    model = train(histories, now.date())
    model.save(models_dir)
    summary = rescore_all(db, EtaService(db, models_dir), now)
    return Past(orders=orders, model_version=model.version, scored=summary.scored)
