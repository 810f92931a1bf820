"""Delivery-date prediction over the database: import a history, rebuild it, predict.

- :func:`import_histories` loads past orders (the Olist files, or a generated demo
  history) as orders of one merchant through the same ingestion code as live data:
  purchase → ``pending``, approval → ``payment_confirmed``, carrier hand-over →
  ``shipped``, delivery → ``delivered``, cancelled/unavailable → ``cancelled``. Event
  ids are derived from the source order id, so running it again changes nothing.
- :func:`histories_from_db` turns stored orders and their events back into the
  plain records the model trains on.
- :class:`EtaService` holds the current model file and a recent-times index per
  merchant, and answers ``GET /api/v1/orders/{id}/eta``.

Source times in a history are wall-clock times of the store's country (Olist:
Brazil); the database keeps UTC. Both directions use :func:`history_zone`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.errors import NotFound
from rumbo.eta.days import history_zone
from rumbo.eta.features import HistoryIndex, features_at
from rumbo.eta.history import OrderHistory
from rumbo.eta.model import EtaModel, Prediction
from rumbo.events.service import NormalizedEvent, ingest
from rumbo.events.status import Status
from rumbo.kit.codes import new_tracking_code
from rumbo.models import Event, Order

BATCH = 500


def _to_utc(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=zone).astimezone(UTC)


def _to_local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


@dataclass
class ImportSummary:
    orders_created: int = 0
    orders_existing: int = 0
    events_accepted: int = 0
    events_duplicate: int = 0
    events_rejected: int = 0


def history_events(history: OrderHistory, zone: ZoneInfo) -> list[NormalizedEvent]:
    """The milestones a history reached, as events with stable ids."""
    steps: list[tuple[str, Status, datetime | None]] = [
        ("payment", Status.PAYMENT_CONFIRMED, history.approved_at),
        ("warehouse", Status.SHIPPED, history.shipped_at),
        ("carrier", Status.DELIVERED, history.delivered_at),
    ]
    if history.status is Status.CANCELLED:
        # The source's status is its final word and gives no time: the cancellation
        # came after everything else it recorded (some cancelled orders were delivered).
        known = (
            history.purchased_at,
            history.approved_at,
            history.shipped_at,
            history.delivered_at,
        )
        steps.append(("store", Status.CANCELLED, max(m for m in known if m is not None)))
    events = []
    for source, status, moment in steps:
        at = _to_utc(moment, zone)
        if at is None:
            continue
        raw = {
            "order_id": history.order_id,
            "status": history.source_status,
            "at": moment.isoformat() if moment else None,
        }
        events.append(
            NormalizedEvent(
                source=source,
                event_id=f"history:{history.order_id}:{status.value}",
                status=status,
                occurred_at=at,
                raw=orjson.dumps(raw).decode(),
                external_id=history.order_id,
                description=f"Imported: {history.source_status}",
            )
        )
    return events


def _order_row(
    history: OrderHistory, merchant_id: int, zone: ZoneInfo, country: str, now: datetime
) -> dict[str, Any]:
    placed = _to_utc(history.purchased_at, zone)
    assert placed is not None
    items = [{"name": "item", "quantity": 1}] * history.item_count
    return {
        "merchant_id": merchant_id,
        "external_id": history.order_id,
        "tracking_code": new_tracking_code(),
        "request_hash": "history-import",
        "customer_locale": "pt-BR" if country == "BR" else "en",
        "customer_postal_code": history.customer_zip_prefix,
        "destination": {
            "city": history.customer_city,
            "state": history.customer_state,
            "postal_code": history.customer_zip_prefix,
            "country": country,
        },
        "origin": {"state": history.seller_state, "country": country}
        if history.seller_state
        else None,
        "items": items,
        "attributes": {
            "seller_ids": list(history.seller_ids),
            "freight": history.freight,
            "price": history.price,
            "distance_km": history.distance_km,
            "source_status": history.source_status,
            "carrier": history.carrier,
        },
        "promised_delivery_date": history.promised_at.date() if history.promised_at else None,
        "placed_at": placed,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "status": Status.PENDING.value,
        "shipments_total": 0,
        "shipments_delivered": 0,
    }


def _chunked(items: Iterable[OrderHistory], size: int) -> Iterator[list[OrderHistory]]:
    chunk: list[OrderHistory] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_histories(
    db: Database,
    merchant_id: int,
    histories: Iterable[OrderHistory],
    now: datetime,
    *,
    country: str = "BR",
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Store ``histories`` as orders of ``merchant_id``; idempotent (see module doc)."""
    zone = history_zone(country)
    summary = ImportSummary()
    next_analyze = 2 * BATCH
    for chunk in _chunked(histories, BATCH):
        with db.session() as session:
            existing = set(
                session.scalars(
                    select(Order.external_id).where(
                        Order.merchant_id == merchant_id,
                        Order.external_id.in_([h.order_id for h in chunk]),
                    )
                )
            )
            fresh = [h for h in chunk if h.order_id not in existing]
            summary.orders_existing += len(chunk) - len(fresh)
            events: list[NormalizedEvent] = []
            if fresh:
                created = session.execute(
                    insert(Order).returning(Order.id, Order.external_id, Order.placed_at),
                    [_order_row(h, merchant_id, zone, country, now) for h in fresh],
                )
                for row in created:
                    # The same "order placed" event that creating an order through the API writes.
                    events.append(
                        NormalizedEvent(
                            source="store",
                            event_id=f"rumbo:order-placed:{row.id}",
                            status=Status.PENDING,
                            occurred_at=row.placed_at,
                            raw=orjson.dumps({"external_id": row.external_id}).decode(),
                            external_id=row.external_id,
                            description="Order placed",
                        )
                    )
                summary.orders_created += len(fresh)
            for history in chunk:
                events.extend(history_events(history, zone))
            outcome = ingest(session, merchant_id, list(enumerate(events)), now)
            for result in outcome.results:
                if result.outcome == "accepted":
                    summary.events_accepted += 1
                elif result.outcome == "duplicate":
                    summary.events_duplicate += 1
                else:
                    summary.events_rejected += 1
        if not db.is_sqlite and summary.orders_created >= next_analyze:
            # Each batch's lookups are planned from table statistics. During a bulk load
            # autovacuum lags behind, and a planner that believes the tables nearly
            # empty filters all the merchant's orders instead of using the (merchant,
            # external id) index: every batch gets slower. Refreshing the statistics
            # whenever the import has doubled the tables keeps the plans right
            # (PostgreSQL manual, "Populating a Database: Run ANALYZE Afterwards",
            # https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE).
            with db.session() as session:
                session.execute(text("ANALYZE orders, events"))
            next_analyze *= 2
        if progress is not None:
            progress(len(chunk))
    return summary


def _history(
    order: Any, firsts: dict[Status, datetime], zone: ZoneInfo, carrier: str | None
) -> OrderHistory:
    attributes = order.attributes or {}
    destination = order.destination or {}
    origin = order.origin or {}
    promised = order.promised_delivery_date
    status = Status(order.status)
    return OrderHistory(
        order_id=order.external_id,
        purchased_at=_to_local(order.placed_at, zone) or datetime.min,
        approved_at=_to_local(firsts.get(Status.PAYMENT_CONFIRMED), zone),
        shipped_at=_to_local(firsts.get(Status.SHIPPED), zone),
        # A delivery stays a fact when the order was cancelled afterwards (Olist has
        # them), exactly as the source files record it.
        delivered_at=_to_local(firsts.get(Status.DELIVERED), zone),
        promised_at=datetime(promised.year, promised.month, promised.day) if promised else None,
        status=status,
        source_status=attributes.get("source_status") or status.value,
        seller_ids=tuple(attributes.get("seller_ids") or ()),
        seller_state=origin.get("state"),
        customer_state=destination.get("state"),
        customer_city=destination.get("city") or None,
        customer_zip_prefix=destination.get("postal_code"),
        carrier=attributes.get("carrier") or carrier,
        freight=attributes.get("freight"),
        price=attributes.get("price"),
        item_count=len(order.items or ()),
        distance_km=attributes.get("distance_km"),
        country=destination.get("country"),
    )


_HISTORY_COLUMNS = (
    Order.id,
    Order.external_id,
    Order.status,
    Order.placed_at,
    Order.promised_delivery_date,
    Order.destination,
    Order.origin,
    Order.items,
    Order.attributes,
)


def histories_from_db(
    session: Session, merchant_id: int, *, order_ids: Sequence[int] | None = None
) -> list[OrderHistory]:
    """The merchant's orders as model records, oldest first."""
    stmt = select(*_HISTORY_COLUMNS).where(Order.merchant_id == merchant_id)
    event_stmt = select(Event.order_id, Event.status, Event.occurred_at).where(
        Event.merchant_id == merchant_id, Event.status.is_not(None)
    )
    if order_ids is not None:
        stmt = stmt.where(Order.id.in_(order_ids))
        event_stmt = event_stmt.where(Event.order_id.in_(order_ids))
    firsts: dict[int, dict[Status, datetime]] = defaultdict(dict)
    for row in session.execute(event_stmt):
        reached = firsts[row.order_id]
        status = Status(row.status)
        if status not in reached or row.occurred_at < reached[status]:
            reached[status] = row.occurred_at
    histories = [
        _history(
            order, firsts[order.id], history_zone((order.destination or {}).get("country")), None
        )
        for order in session.execute(stmt.order_by(Order.placed_at, Order.id))
    ]
    return histories


class EtaService:
    """The current model and each merchant's recent-times index, per process.

    The index (recent handling and transit times) is rebuilt at most every
    ``refresh_seconds``; a new model file becomes current on the next refresh.
    """

    def __init__(self, db: Database, models_dir: Path, refresh_seconds: float = 600.0) -> None:
        self.db = db
        self.models_dir = models_dir
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._model: tuple[float, EtaModel | None] | None = None
        self._indexes: dict[int, tuple[float, HistoryIndex]] = {}

    def model(self) -> EtaModel:
        with self._lock:
            now = time.monotonic()
            if self._model is None or self._model[0] < now:
                try:
                    loaded: EtaModel | None = EtaModel.load_current(self.models_dir)
                except (FileNotFoundError, ValueError):
                    loaded = None
                self._model = (now + self.refresh_seconds, loaded)
            model = self._model[1]
        if model is None:
            raise NotFound(
                "No delivery-date model has been trained yet: run `rumbo eta train`.", "no_model"
            )
        return model

    def index(self, session: Session, merchant_id: int) -> HistoryIndex:
        now = time.monotonic()
        with self._lock:
            hit = self._indexes.get(merchant_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        index = HistoryIndex(histories_from_db(session, merchant_id))
        with self._lock:
            self._indexes[merchant_id] = (now + self.refresh_seconds, index)
        return index

    def predict(self, session: Session, order: Order, at: datetime) -> tuple[Prediction, EtaModel]:
        model = self.model()
        history = histories_from_db(session, order.merchant_id, order_ids=[order.id])[0]
        zone = history_zone((order.destination or {}).get("country"))
        local_now = _to_local(at, zone)
        assert local_now is not None
        snapshot = features_at(history, local_now, self.index(session, order.merchant_id))
        return model.predict(snapshot), model
