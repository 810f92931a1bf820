"""Prometheus metrics (``GET /metrics``), correct across processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``rumbo serve --workers N`` sets it when
several processes serve), every process writes its samples to files in that
directory and a scrape of any process sums them — prometheus_client's
multiprocess mode (https://prometheus.github.io/client_python/multiprocess/).
Without it the samples are this process's. Queue depths of the database (outbox)
are read from the database at scrape time, so they are right whichever process
answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from rumbo.db import Database
from rumbo.models import OutboxMessage

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "rumbo_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "rumbo_http_request_duration_seconds",
    "Time to the end of the response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_EXCEPTIONS = Counter(
    "rumbo_http_exceptions_total",
    "Requests that ended in an unhandled exception (answered 500), by route template.",
    ["route"],
)
EVENTS = Counter(
    "rumbo_events_total",
    "Ingested events by outcome (accepted, duplicate, rejected).",
    ["outcome"],
)
POSITIONS = Counter("rumbo_positions_stored_total", "Courier device positions stored.")
NOTIFICATIONS = Counter(
    "rumbo_notifications_total",
    "Outbox deliveries by channel and outcome (sent, retry, failed, suppressed).",
    ["channel", "outcome"],
)
NOTIFICATION_LAG = Histogram(
    "rumbo_notification_lag_seconds",
    "From the event's ingestion (outbox row written) to the message sent, by channel.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)


class OutboxCollector(Collector):
    """Outbox rows waiting (queued) and being delivered (sending), read at scrape time."""

    def __init__(self, db: Database, now: Any) -> None:
        self.db = db
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "rumbo_outbox_messages",
            "Outbox messages not yet settled, by status.",
            labels=["status"],
        )
        oldest = GaugeMetricFamily(
            "rumbo_outbox_oldest_due_seconds",
            "Age of the oldest queued message that is due now (0 when none).",
        )
        now: datetime = self.now()
        with self.db.reader() as conn:
            counts = dict(
                conn.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.status.in_(("queued", "sending")))
                    .group_by(OutboxMessage.status)
                ).all()
            )
            first = conn.execute(
                select(func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now
                )
            ).scalar()
        for status in ("queued", "sending"):
            pending.add_metric([status], float(counts.get(status, 0)))
        age = 0.0
        if first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=now.tzinfo)
            age = max((now - first).total_seconds(), 0.0)
        oldest.add_metric([], age)
        yield pending
        yield oldest


def exposition(extra: Collector | None = None) -> tuple[bytes, str]:
    """The text exposition of every process's metrics (plus ``extra``), and its type."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra is not None:
        own = CollectorRegistry(auto_describe=False)
        own.register(extra)
        body += generate_latest(own)
    return body, CONTENT_TYPE_LATEST


def process_stopped() -> None:
    """Drop this process's live gauges from the shared directory (multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
