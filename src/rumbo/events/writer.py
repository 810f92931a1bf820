"""Group commit: one writer thread per process stores every request's events.

Many threadpool writers contending for SQLite's single write lock give second-long
tail latencies; one writer that takes whatever requests are waiting and stores
them in one transaction (one commit, one fsync) turns contention into batching.
Requests ``await`` their own result; each is answered only after the transaction
holding its events has committed, so a 2xx always means "stored".

If a combined transaction fails, each request is retried in a transaction of its
own, so one request's problem never fails another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from rumbo.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Session], T]


@dataclass
class _Job(Generic[T]):
    work: Work[T]
    size: int
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class GroupCommitWriter:
    """Runs submitted units of work on one thread, several per transaction."""

    def __init__(
        self,
        db: Database,
        *,
        max_items: int = 5000,
        after_commit: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self.db = db
        self.max_items = max_items
        self.after_commit = after_commit
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
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

    async def submit(self, work: Work[T], size: int = 1) -> T:
        """Run ``work(session)`` in a committed transaction and return its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, size, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs: list[_Job[Any]] = [first]
            items = first.size
            while items < self.max_items:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                jobs.append(nxt)
                items += nxt.size
            self._commit(jobs)

    def _commit(self, jobs: list[_Job[Any]]) -> None:
        try:
            with self.db.session() as session:
                results = [job.work(session) for job in jobs]
        except Exception as exc:
            if len(jobs) == 1:
                log.exception("write failed")
                self._settle(jobs[0], error=exc)
                return
            for job in jobs:  # isolate the failing request
                self._commit([job])
            return
        for job, result in zip(jobs, results, strict=True):
            self._settle(job, result=result)
        if self.after_commit is not None:
            try:
                self.after_commit(results)
            except Exception:
                log.exception("after-commit hook failed")

    @staticmethod
    def _settle(job: _Job[Any], result: Any = None, error: BaseException | None = None) -> None:
        def resolve() -> None:
            if job.future.done():
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the requesting loop is gone (shutdown)
            job.loop.call_soon_threadsafe(resolve)
