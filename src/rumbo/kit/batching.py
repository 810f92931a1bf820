"""Group commit: a few writer threads per process, many requests per transaction.

At thousands of small writes per second, a transaction per request makes the
commit the bottleneck, and on SQLite many threads queue on its single write lock
with second-long tail latencies. A :class:`BatchWriter` takes whatever requests
are waiting, hands them together to one ``process(session, jobs)`` call in one
transaction, and answers each request with its own result only after that
transaction committed — so a 2xx always means "stored". A transaction the
database rolled back as transient (a deadlock it broke) is run again as it was; if
a merged transaction fails otherwise, each request is retried in a transaction of
its own, so one request's problem never fails another's.

Event ingestion and courier positions use it; each supplies only how to store a
batch of its jobs and split the outcome back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import Counter, Gauge
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Defined beside the writer it measures: kit sits below shared.metrics (which
# exposes every registered metric, this one included).
WRITER_QUEUE = Gauge(
    "rumbo_writer_queue_depth",
    "Requests waiting for a group-commit writer (sampled at each batch).",
    ["writer"],
    multiprocess_mode="livesum",
)
WRITER_RETRIES = Counter(
    "rumbo_writer_retries_total",
    "Transactions of a group-commit writer run again after the database rolled them back"
    " as transient (a deadlock it broke, a serialization failure).",
    ["writer"],
)


class Sessions(Protocol):
    """Where a writer gets its transactions (``rumbo.db.Database`` is one)."""

    def session(self, *, write: bool = True) -> AbstractContextManager[Session]: ...


J = TypeVar("J")
R = TypeVar("R")

_STOP = object()


@dataclass
class _Pending(Generic[J, R]):
    job: J
    future: asyncio.Future[R]
    loop: asyncio.AbstractEventLoop


class BatchWriter(Generic[J, R]):
    """Runs ``process(session, jobs) -> results`` (one result per job, in order) on
    one thread, as many waiting jobs per transaction as ``max_items`` allows."""

    def __init__(
        self,
        db: Sessions,
        process: Callable[[Session, Sequence[J]], Sequence[R]],
        *,
        size: Callable[[J], int],
        max_items: int,
        name: str,
        committed: Callable[[Sequence[R]], None] | None = None,
        threads: int = 1,
    ) -> None:
        self.db = db
        self.process = process
        self.size = size
        self.max_items = max_items
        self.committed = committed  # told each committed batch's results (metrics)
        self.name = name
        # More than one thread lets transactions overlap their waits on the database
        # (PostgreSQL: row locks keep two of them off the same order); SQLite has one
        # write lock, so one thread is all it can use.
        self.threads = threads
        self._depth = WRITER_QUEUE.labels(name)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._running: list[threading.Thread] = []

    def start(self) -> None:
        if not self._running:
            self._running = [
                threading.Thread(target=self._run, name=self.name, daemon=True)
                for _ in range(self.threads)
            ]
            for thread in self._running:
                thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then stop."""
        for _ in self._running:
            self._queue.put(_STOP)  # each thread takes one and stops
        for thread in self._running:
            thread.join(timeout)
        self._running = []

    async def submit(self, job: J) -> R:
        """Store ``job`` in a committed transaction and return its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put(_Pending(job, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Pending[J, R]] = [first]
            items = self.size(first.job)
            while items < self.max_items:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
                items += self.size(nxt.job)
            self._depth.set(self._queue.qsize())
            self._commit(batch)

    def _commit(self, batch: list[_Pending[J, R]]) -> None:
        try:
            results = self._attempt(batch)
        except Exception as exc:
            if len(batch) == 1:
                log.exception("%s: storing failed", self.name)
                _settle([(batch[0], None, exc)])
                return
            for pending in batch:  # isolate the failing request
                self._commit([pending])
            return
        _settle([(pending, result, None) for pending, result in zip(batch, results, strict=True)])
        if self.committed is not None:
            self.committed(results)

    def _attempt(self, batch: list[_Pending[J, R]]) -> Sequence[R]:
        """One transaction for ``batch``, run again (whole: the failed one was rolled
        back) when the database calls its failure transient."""
        attempt = 1
        while True:
            try:
                with self.db.session() as session:
                    return self.process(session, [pending.job for pending in batch])
            except Exception as exc:
                if attempt >= _ATTEMPTS or not transient(exc):
                    raise
                log.info("%s: %s; trying again (%d)", self.name, exc.__class__.__name__, attempt)
                WRITER_RETRIES.labels(self.name).inc()
                attempt += 1


# PostgreSQL's answers that a transaction may succeed if run again as it was: a
# deadlock it broke by rolling this side back, a serialization failure
# (https://www.postgresql.org/docs/current/mvcc-serialization-failure-handling.html).
_TRANSIENT = frozenset({"40P01", "40001"})
_ATTEMPTS = 3


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver's error, or SQLAlchemy's wrapping of one) is transient."""
    driver_error = getattr(exc, "orig", exc)
    return getattr(driver_error, "sqlstate", None) in _TRANSIENT


_Outcome = tuple[_Pending[Any, Any], Any, BaseException | None]


def _settle(outcomes: Sequence[_Outcome]) -> None:
    """Answer each waiting request on its own event loop: one wake-up per loop for the
    whole batch (each ``call_soon_threadsafe`` writes to the loop's wake-up socket)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the requesting loop is gone (shutdown)
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(outcomes: Sequence[_Outcome]) -> None:
    for pending, result, error in outcomes:
        if pending.future.done():  # the request was cancelled (client gone)
            continue
        if error is not None:
            pending.future.set_exception(error)
        else:
            pending.future.set_result(result)
