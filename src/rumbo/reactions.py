"""The reactions to ingestion, wired once per process (composition: top layer).

``app.py``, ``worker.py`` and ``cli.py`` call :func:`subscribe_all` at startup, so every
path that stores events — API, carrier webhooks, CSV and history imports, the demo —
gets the same reactions in its transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rumbo.events import pipeline
from rumbo.notifications.outbox import enqueue_for_changes
from rumbo.web import live


def announce_to_live_pages(session: Session, news: pipeline.Ingested) -> None:
    live.announce(session, news.order_ids)


def write_outbox(session: Session, news: pipeline.Ingested) -> None:
    enqueue_for_changes(session, news.merchant_id, news.changes, news.now)


def subscribe_all() -> None:
    """Subscribe every reaction (idempotent: safe to call from each entry point)."""
    pipeline.subscribe(announce_to_live_pages)
    pipeline.subscribe(write_outbox)
