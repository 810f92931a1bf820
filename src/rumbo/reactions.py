"""The reactions to ingestion and to planning, wired once per process (composition: top layer).

``app.py``, ``worker.py`` and ``cli.py`` call :func:`subscribe_all` at startup, so every
path that stores events — API, carrier webhooks, CSV and history imports, the demo —
gets the same reactions in its transaction, and every plan that sets arrival windows
writes its "arriving between …" notices in its own.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from rumbo.events import pipeline
from rumbo.notifications.arrival import enqueue_arrival_windows
from rumbo.notifications.outbox import enqueue_for_changes
from rumbo.routes import announce
from rumbo.web import live


def announce_to_live_pages(session: Session, news: pipeline.Ingested) -> None:
    live.announce(session, news.order_ids)


# RUMBO_NOTIFICATION_MERGE_SECONDS, set by the process's entry point.
_merge_window = timedelta(minutes=5)


def write_outbox(session: Session, news: pipeline.Ingested) -> None:
    enqueue_for_changes(session, news.merchant_id, news.changes, news.now, window=_merge_window)


def write_arrival_notices(session: Session, news: announce.WindowsSet) -> None:
    enqueue_arrival_windows(session, news, window=_merge_window)


def subscribe_all(merge_seconds: int = 300) -> None:
    """Subscribe every reaction (idempotent: safe to call from each entry point);
    ``merge_seconds`` is how long shopper news waits to merge with what follows."""
    global _merge_window
    _merge_window = timedelta(seconds=merge_seconds)
    pipeline.subscribe(announce_to_live_pages)
    pipeline.subscribe(write_outbox)
    announce.subscribe(write_arrival_notices)
