"""The reactions to what domains announce, wired once per process (composition: top layer).

``app.py``, ``worker.py`` and ``cli.py`` call :func:`subscribe_all` at startup, so every
path that stores events — API, carrier webhooks, CSV and history imports, the demo —
gets the same reactions in its transaction; likewise stored courier positions
(``devices``: "arriving soon"), re-scored orders (``eta``: "may be delayed") and every
plan that sets arrival windows (``routes``: "arriving between …"). The announcing
domains import none of their listeners; this module knows both sides.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from rumbo.devices.service import COURIERS_NEAR, CouriersNear
from rumbo.eta.rescore import NEWLY_AT_RISK, NewlyAtRiskNews
from rumbo.events import pipeline
from rumbo.notifications.arrival import enqueue_arrival_windows, on_planned_route
from rumbo.notifications.message import Kind
from rumbo.notifications.outbox import News, enqueue_for_changes, enqueue_news
from rumbo.routes.announce import WINDOWS_SET, WindowsSet
from rumbo.shared import live


def announce_to_live_pages(session: Session, news: pipeline.Ingested) -> None:
    live.announce(session, news.order_ids)


# RUMBO_NOTIFICATION_MERGE_SECONDS, set by the process's entry point.
_merge_window = timedelta(minutes=5)


def write_outbox(session: Session, news: pipeline.Ingested) -> None:
    enqueue_for_changes(session, news.merchant_id, news.changes, news.now, window=_merge_window)


def write_arrival_notices(session: Session, news: WindowsSet) -> None:
    enqueue_arrival_windows(session, news, window=_merge_window)


def tell_arriving_soon(session: Session, near: CouriersNear) -> None:
    """The shopper's "the courier is almost there", once per shipment. A parcel on the
    day's planned route is not told: its "arriving between …" notice already says more."""
    planned = on_planned_route(session, [(f.shipment_id, f.at) for f in near.arriving_soon])
    by_merchant: dict[int, list[News]] = {}
    for fact in near.arriving_soon:
        if fact.shipment_id in planned:
            continue
        payload = {
            "status": "out_for_delivery",
            "status_at": fact.at.isoformat(),
            "shipment_id": fact.shipment_id,
            "distance_m": round(fact.distance_m),
        }
        by_merchant.setdefault(fact.merchant_id, []).append(
            News(fact.order_id, Kind.ARRIVING_SOON, payload)
        )
    for merchant_id, news in by_merchant.items():
        enqueue_news(session, merchant_id, news, near.now)


def warn_may_be_delayed(session: Session, risky: NewlyAtRiskNews) -> None:
    """The proactive "your order may be delayed", through the notification rules; its
    idempotency key holds the promised date, so it goes once per order and promise."""
    news = [
        News(
            order.order_id,
            Kind.MAY_BE_DELAYED,
            {"status": order.status, "status_at": order.status_at.isoformat(), "risk": order.risk},
            promise=order.promised,
        )
        for order in risky.orders
    ]
    enqueue_news(session, risky.merchant_id, news, risky.now)


def subscribe_all(merge_seconds: int = 300) -> None:
    """Subscribe every reaction (idempotent: safe to call from each entry point);
    ``merge_seconds`` is how long shopper news waits to merge with what follows."""
    global _merge_window
    _merge_window = timedelta(seconds=merge_seconds)
    pipeline.subscribe(announce_to_live_pages)
    pipeline.subscribe(write_outbox)
    COURIERS_NEAR.subscribe(tell_arriving_soon)
    NEWLY_AT_RISK.subscribe(warn_may_be_delayed)
    WINDOWS_SET.subscribe(write_arrival_notices)
