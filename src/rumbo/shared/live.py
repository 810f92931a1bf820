"""Live updates for open tracking pages: "order N changed" reaches every API process.

Ingestion calls :func:`announce` inside its transaction (from
``rumbo.events.service.react``). Each API process holds one :class:`LiveHub`
(started by the web router's lifespan) that fans the news out to the pages it serves:

- **PostgreSQL**: ``announce`` runs ``pg_notify('rumbo_orders', '<ids>')``, which the
  server delivers only when the transaction commits; every process keeps one
  ``LISTEN rumbo_orders`` connection on a background thread.
- **SQLite**: processes share only the file, so each hub polls ``orders.version`` of
  the orders its pages watch (one query for all of them, every ``poll_interval``
  seconds); a commit in this process also signals its hubs at once.

A notification only says "look again": pages re-read the order, so a spurious or
repeated signal costs one request and a lost one is caught by the next.

Per-process caches of public views (``rumbo.public.service.PublicViews``) watch the
same hub: on PostgreSQL, while the ``LISTEN`` connection is up, every committed change
reaches them, so a cached view can be served with no query at all; when the
connection drops they stop trusting what they hold until it is back. A commit made by
this process reaches them before its response is sent (read-your-writes); one made by
another process reaches them when PostgreSQL delivers the notification, milliseconds
later.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.models import Order

log = logging.getLogger(__name__)

CHANNEL = "rumbo_orders"


@functools.lru_cache(maxsize=16)
def channel_for(url: str) -> str:
    """The NOTIFY channel of the Rumbo whose database is ``url``.

    PostgreSQL's channels belong to the database, not to a schema: two deployments (or
    test runs) in one database, each in its own schema through ``search_path``, would
    hear each other's order ids and drop or refresh the wrong pages and cached views.
    A schema other than the default gets a channel of its own."""
    options = make_url(url).query.get("options", "")
    text_options = " ".join(options) if isinstance(options, tuple) else options
    for option in text_options.split():
        if option.startswith("-csearch_path="):
            schema = option.split("=", 1)[1]
            return f"{CHANNEL}_{hashlib.sha256(schema.encode()).hexdigest()[:16]}"
    return CHANNEL


# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
_PAYLOAD_LIMIT = 7000

# Hubs of this process, by database URL, for the immediate signal after a SQLite commit.
_LOCAL_HUBS: weakref.WeakSet[LiveHub] = weakref.WeakSet()
_LOCAL_LOCK = threading.Lock()


def _payloads(order_ids: Iterable[int]) -> list[str]:
    chunks: list[str] = []
    current = ""
    for order_id in sorted(set(order_ids)):
        piece = str(order_id)
        if current and len(current) + len(piece) + 1 > _PAYLOAD_LIMIT:
            chunks.append(current)
            current = ""
        current = f"{current},{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _parse_payload(payload: str) -> list[int]:
    return [int(part) for part in payload.split(",") if part.strip().isdigit()]


def announce(session: Session, order_ids: Sequence[int]) -> None:
    """Tell open tracking pages, in every process, that ``order_ids`` changed — once
    the caller's transaction commits (never for a rolled-back one)."""
    if not order_ids:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # One statement however many payloads the ids need.
        session.execute(
            text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
            {"channel": channel_for(str(bind.engine.url)), "payloads": _payloads(order_ids)},
        )
    # This process hears of its own commits at once (before the caller answers), on
    # both databases; other processes hear through NOTIFY or by polling.
    url = bind.engine.url.render_as_string(hide_password=False)
    ids = list(order_ids)

    def _after_commit(_: Session) -> None:
        signal_local(url, ids)

    event.listen(session, "after_commit", _after_commit, once=True)


def signal_local(url: str, order_ids: Iterable[int]) -> None:
    """Wake this process's hubs on the database at ``url`` (SQLite's fast path)."""
    with _LOCAL_LOCK:
        hubs = [hub for hub in _LOCAL_HUBS if hub.url == url]
    for hub in hubs:
        hub.notify(order_ids)


class ChangeWatcher(Protocol):
    """Something that keeps per-process copies of orders (a cache of views)."""

    def changed(self, order_ids: Iterable[int]) -> None:
        """``order_ids`` may have changed: forget them."""

    def listening(self, complete: bool) -> None:
        """Whether every committed change now reaches :meth:`changed` (``False`` when
        the hub cannot promise it: polling, or a lost connection)."""


@dataclass(eq=False)
class Subscription:
    """One open page: woken (``changed`` set) when its order may have changed."""

    order_id: int
    loop: asyncio.AbstractEventLoop
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.loop.call_soon_threadsafe(self.changed.set)


class LiveHub:
    """The process's subscribers, and the one background thread that hears of changes."""

    def __init__(self, db: Database, *, poll_interval: float = 0.5) -> None:
        self.db = db
        self.url = db.engine.url.render_as_string(hide_password=False)
        self.poll_interval = poll_interval
        self._subscribers: dict[int, set[Subscription]] = {}
        self._versions: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watchers: list[ChangeWatcher] = []

    def watch(self, watcher: ChangeWatcher) -> None:
        """Tell ``watcher`` of every change this hub hears of, and whether it hears all."""
        self._watchers.append(watcher)
        watcher.listening(False)

    # -- subscribers -------------------------------------------------------------

    def subscribe(
        self, order_id: int, version: int, loop: asyncio.AbstractEventLoop
    ) -> Subscription:
        """Watch ``order_id`` as last seen at ``version``, waking ``changed`` on ``loop``;
        already woken if the order is newer. Blocks on one query: call from a thread."""
        sub = Subscription(order_id, loop)
        with self._lock:
            self._subscribers.setdefault(order_id, set()).add(sub)
            self._versions.setdefault(order_id, version)
        current = self._current_versions([order_id]).get(order_id)
        if current is not None and current != version:
            sub.wake()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscribers.get(sub.order_id)
            if subs is None:
                return
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.order_id]
                self._versions.pop(sub.order_id, None)

    def watched(self) -> int:
        with self._lock:
            return sum(len(subs) for subs in self._subscribers.values())

    def notify(self, order_ids: Iterable[int]) -> None:
        """Wake the pages watching ``order_ids``; safe from any thread."""
        ids = set(order_ids)
        for watcher in self._watchers:
            watcher.changed(ids)
        with self._lock:
            subs = [sub for oid in ids for sub in self._subscribers.get(oid, ())]
        for sub in subs:
            sub.wake()

    def _listening(self, complete: bool) -> None:
        for watcher in self._watchers:
            watcher.listening(complete)

    # -- the background listener -------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        with _LOCAL_LOCK:
            _LOCAL_HUBS.add(self)
        self._stop.clear()
        target = self._listen if self.db.engine.dialect.name == "postgresql" else self._poll
        self._thread = threading.Thread(target=target, name="rumbo-live", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with _LOCAL_LOCK:
            _LOCAL_HUBS.discard(self)
        self._listening(False)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _current_versions(self, order_ids: list[int]) -> dict[int, int]:
        if not order_ids:
            return {}
        with self.db.reader() as conn:
            rows = conn.execute(select(Order.id, Order.version).where(Order.id.in_(order_ids)))
            return {row.id: row.version for row in rows}

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval):
            with self._lock:
                watched = dict(self._versions)
            if not watched:
                continue
            try:
                current = self._current_versions(sorted(watched))
            except Exception:  # a locked or busy file: try again at the next tick
                log.warning("live poll failed", exc_info=True)
                continue
            changed = [oid for oid, version in current.items() if watched.get(oid) != version]
            if not changed:
                continue
            with self._lock:
                for oid in changed:
                    if oid in self._versions:
                        self._versions[oid] = current[oid]
            self.notify(changed)

    def _conninfo(self) -> str:
        url = make_url(self.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _listen(self) -> None:
        import psycopg

        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {channel_for(self.url)}")
                    backoff = 0.5
                    # From here on every commit is heard; what was committed while
                    # (re)connecting is not, so caches start afresh and pages look again.
                    self._listening(True)
                    with self._lock:
                        everyone = list(self._subscribers)
                    self.notify(everyone)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self.notify(_parse_payload(note.payload))
            except Exception:
                self._listening(False)
                if self._stop.is_set():
                    return
                log.warning("live listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
