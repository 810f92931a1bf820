"""Group ingestion: one writer thread per process stores every request's events.

Many threadpool writers contending for SQLite's single write lock give second-long
tail latencies; one writer that takes whatever requests are waiting, merges each
merchant's events into one :func:`~rumbo.events.service.ingest` call and commits
them in one transaction turns contention into batching: fifty single-event
requests cost about what one fifty-event batch costs. Requests ``await`` their own
outcome, answered only after the transaction holding their events committed, so
a 2xx always means "stored".

If a combined transaction fails, each request is retried in a transaction of its
own, so one request's problem never fails another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.events.service import IngestOutcome, NormalizedEvent, ingest
from rumbo.kit.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class _Job:
    merchant_id: int
    events: Sequence[tuple[int, NormalizedEvent]]
    future: asyncio.Future[IngestOutcome]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class IngestWriter:
    """Stores submitted events on one thread, many requests per transaction."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        max_events: int = 5000,
        after_commit: Callable[[list[IngestOutcome]], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_events = max_events
        self.after_commit = after_commit
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="rumbo-writer", daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then stop."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._started = False

    async def submit(
        self, merchant_id: int, events: Sequence[tuple[int, NormalizedEvent]]
    ) -> IngestOutcome:
        """Store ``events`` (with their indexes in the request) in a committed transaction."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestOutcome] = loop.create_future()
        self._queue.put(_Job(merchant_id, events, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Job)
            jobs = [first]
            size = len(first.events)
            while size < self.max_events:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                assert isinstance(nxt, _Job)
                jobs.append(nxt)
                size += len(nxt.events)
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            with self.db.session() as session:
                outcomes = _ingest_together(session, jobs, self.clock)
        except Exception as exc:
            if len(jobs) == 1:
                log.exception("storing events failed")
                _settle(jobs[0], error=exc)
                return
            for job in jobs:  # isolate the failing request
                self._commit([job])
            return
        for job, outcome in zip(jobs, outcomes, strict=True):
            _settle(job, outcome)
        if self.after_commit is not None:
            try:
                self.after_commit(outcomes)
            except Exception:
                log.exception("after-commit hook failed")


def _ingest_together(session: Session, jobs: list[_Job], clock: Clock) -> list[IngestOutcome]:
    """One ingest call per merchant over all its waiting jobs; outcomes split back per job."""
    now = clock.now()
    by_merchant: dict[int, list[int]] = defaultdict(list)
    for position, job in enumerate(jobs):
        by_merchant[job.merchant_id].append(position)
    outcomes: list[IngestOutcome | None] = [None] * len(jobs)
    for merchant_id, positions in by_merchant.items():
        combined: list[tuple[int, NormalizedEvent]] = []
        owners: list[tuple[int, int]] = []  # combined index -> (job position, index in job)
        for position in positions:
            for index, event in jobs[position].events:
                owners.append((position, index))
                combined.append((len(combined), event))
        merged = ingest(session, merchant_id, combined, now)
        split: dict[int, IngestOutcome] = {p: IngestOutcome() for p in positions}
        for result in merged.results:
            position, index = owners[result.index]
            split[position].results.append(result.model_copy(update={"index": index}))
        touched_by = {p: {r.order_id for r in split[p].results} for p in positions}
        for change in merged.changes:
            for position in positions:
                if change.order_id in touched_by[position]:
                    split[position].changes.append(change)
        for position in positions:
            outcomes[position] = split[position]
    return [outcome for outcome in outcomes if outcome is not None]


def _settle(
    job: _Job, outcome: IngestOutcome | None = None, error: BaseException | None = None
) -> None:
    def resolve() -> None:
        if job.future.done():
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            assert outcome is not None
            job.future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # the requesting loop is gone (shutdown)
        job.loop.call_soon_threadsafe(resolve)
