"""Re-scoring open orders: the at-risk list and the proactive "may be delayed".

Periodically (the worker's ``eta-rescore`` service, or ``rumbo eta rescore``),
every open order of every merchant gets a fresh prediction from the current
model, stored on the order. An order whose risk of missing its promise rises to
``at_risk`` or ``late`` is reported as newly at risk — once per order and
promised date — so the notification rules can send "your order may be delayed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from rumbo.config import Settings
from rumbo.db import Database
from rumbo.errors import NotFound
from rumbo.eta.days import history_zone
from rumbo.eta.features import features_at
from rumbo.eta.model import Prediction
from rumbo.eta.store import EtaService, histories_from_db
from rumbo.events.status import TERMINAL
from rumbo.kit.topics import Topic
from rumbo.models import EtaPromise, Order
from rumbo.shared import live
from rumbo.shared.services import BackgroundService

log = logging.getLogger(__name__)

RISKY = frozenset({"at_risk", "late"})
BATCH = 1000


@dataclass(frozen=True, slots=True)
class NewlyAtRisk:
    order_id: int
    merchant_id: int
    risk: str
    promised: Any


@dataclass
class RescoreSummary:
    scored: int = 0
    newly_at_risk: list[NewlyAtRisk] = field(default_factory=list)


_UPDATE = (
    update(Order)
    .where(Order.id == bindparam("row_id"))
    .values(
        eta_estimated=bindparam("eta_estimated"),
        eta_earliest=bindparam("eta_earliest"),
        eta_latest=bindparam("eta_latest"),
        on_time_probability=bindparam("on_time_probability"),
        risk=bindparam("risk"),
        eta_model_version=bindparam("eta_model_version"),
        eta_scored_at=bindparam("eta_scored_at"),
        # The public view shows the prediction: cached renderings must refresh.
        version=Order.version + 1,
    )
)


def rescore_merchant(
    session: Session, service: EtaService, merchant_id: int, now: datetime
) -> RescoreSummary:
    """Predict every open order of ``merchant_id`` now; only flushes."""
    summary = RescoreSummary()
    model = service.model()
    open_orders = list(
        session.execute(
            select(
                Order.id,
                Order.external_id,
                Order.status,
                Order.status_at,
                Order.risk,
                Order.promised_delivery_date,
                Order.eta_estimated,
                Order.eta_earliest,
                Order.eta_latest,
                Order.destination["country"].as_string().label("country"),
            )
            .where(
                Order.merchant_id == merchant_id, Order.status.not_in([s.value for s in TERMINAL])
            )
            .order_by(Order.id)
        )
    )
    index = service.index(session, merchant_id)
    for start in range(0, len(open_orders), BATCH):
        chunk = open_orders[start : start + BATCH]
        by_id = {row.id: row for row in chunk}
        histories = histories_from_db(session, merchant_id, order_ids=list(by_id))
        ids = [row.id for row in chunk]
        external = {h.order_id: h for h in histories}
        snapshots, owners = [], []
        for order_id in ids:
            history = external[by_id[order_id].external_id]
            zone = history_zone(by_id[order_id].country)
            local_now = now.astimezone(zone).replace(tzinfo=None)
            snapshots.append(features_at(history, local_now, index))
            owners.append((order_id, zone))
        predictions = model.predict_many(snapshots)
        updates = []
        shown: list[dict[str, Any]] = []
        for (order_id, zone), prediction in zip(owners, predictions, strict=True):
            risk = prediction.risk.value
            if _dates_changed(by_id[order_id], prediction, zone):
                shown.append(
                    {
                        "merchant_id": merchant_id,
                        "order_id": order_id,
                        "shown_at": now,
                        "status": by_id[order_id].status,
                        "estimated": prediction.estimated_delivery.replace(tzinfo=zone),
                        "earliest": prediction.earliest.replace(tzinfo=zone),
                        "latest": prediction.latest.replace(tzinfo=zone),
                        "model_version": model.version,
                    }
                )
            updates.append(
                {
                    "row_id": order_id,
                    "eta_estimated": prediction.estimated_delivery.replace(tzinfo=zone),
                    "eta_earliest": prediction.earliest.replace(tzinfo=zone),
                    "eta_latest": prediction.latest.replace(tzinfo=zone),
                    "on_time_probability": prediction.on_time_probability,
                    "risk": risk,
                    "eta_model_version": model.version,
                    "eta_scored_at": now,
                }
            )
            previous = by_id[order_id].risk
            if risk in RISKY and previous not in RISKY:
                summary.newly_at_risk.append(
                    NewlyAtRisk(order_id, merchant_id, risk, by_id[order_id].promised_delivery_date)
                )
        if updates:
            session.connection().execute(_UPDATE, updates)
            # Open pages and the processes' cached views learn of the new prediction.
            live.announce(session, [update["row_id"] for update in updates])
        if shown:
            session.execute(insert(EtaPromise), shown)
        summary.scored += len(updates)
    if summary.newly_at_risk:
        _warn(
            session, merchant_id, summary.newly_at_risk, {row.id: row for row in open_orders}, now
        )
    return summary


def _dates_changed(row: Any, prediction: Prediction, zone: ZoneInfo) -> bool:
    """Whether the days an order shows (likely, earliest, latest, on the destination's
    clock) differ from the ones it showed: only then is a new promise recorded, so a
    re-score that moves the likely moment by minutes does not count as a new promise."""
    before = (row.eta_estimated, row.eta_earliest, row.eta_latest)
    if any(moment is None for moment in before):
        return True
    after = (prediction.estimated_delivery, prediction.earliest, prediction.latest)
    return any(
        old.astimezone(zone).date() != new.date() for old, new in zip(before, after, strict=True)
    )


@dataclass(frozen=True, slots=True)
class AtRisk:
    """One order newly at risk, with what its "may be delayed" message tells."""

    order_id: int
    status: str
    status_at: datetime
    risk: str
    promised: Any


@dataclass(frozen=True, slots=True)
class NewlyAtRiskNews:
    merchant_id: int
    orders: Sequence[AtRisk]
    now: datetime


# The proactive "your order may be delayed" subscribes here (rumbo.reactions): its
# outbox rows commit with the new scores.
NEWLY_AT_RISK: Topic[NewlyAtRiskNews] = Topic("eta.newly_at_risk")


def _warn(
    session: Session,
    merchant_id: int,
    risky: list[NewlyAtRisk],
    orders: dict[int, Any],
    now: datetime,
) -> None:
    """Announce the orders newly at risk, with the status they show and the promise."""
    at_risk = [
        AtRisk(
            item.order_id,
            orders[item.order_id].status,
            orders[item.order_id].status_at or now,
            item.risk,
            item.promised,
        )
        for item in risky
    ]
    NEWLY_AT_RISK.publish(session, NewlyAtRiskNews(merchant_id, at_risk, now))


def rescore_all(db: Database, service: EtaService, now: datetime) -> RescoreSummary:
    """Every merchant with open orders, one transaction each."""
    total = RescoreSummary()
    with db.session(write=False) as session:
        merchants = list(
            session.scalars(
                select(Order.merchant_id)
                .where(Order.status.not_in([s.value for s in TERMINAL]))
                .distinct()
            )
        )
    for merchant_id in merchants:
        with db.session() as session:
            try:
                summary = rescore_merchant(session, service, merchant_id, now)
            except NotFound:  # no model trained yet
                return total
        total.scored += summary.scored
        total.newly_at_risk += summary.newly_at_risk
    return total


async def run(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """The worker's periodic re-scoring."""
    service = EtaService(db, settings.models_dir)
    while not stop.is_set():
        try:
            summary = await asyncio.to_thread(rescore_all, db, service, datetime.now(UTC))
            if summary.scored:
                log.info(
                    "rescored %d open orders, %d newly at risk",
                    summary.scored,
                    len(summary.newly_at_risk),
                )
        except Exception:
            log.exception("re-scoring failed")
        with contextlib.suppress(TimeoutError):  # the period ended without a stop
            await asyncio.wait_for(stop.wait(), timeout=settings.rescore_seconds)


SERVICE = BackgroundService("eta-rescore", run)  # idle until a model is trained
