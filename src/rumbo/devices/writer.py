"""One writer thread per process stores every OsmAnd request's positions.

A Traccar Client sends one fix per request; at thousands of requests per second a
transaction each would make the database's commit the bottleneck (and, on SQLite,
many threads would queue on its one write lock). As in ``rumbo.events.writer``, the
requests waiting are merged into one :func:`store_positions` call and one commit;
each request is answered only after the transaction holding its fixes committed, so
a 200 always means "stored". If a merged transaction fails, each request is retried
alone, so one request's problem never fails another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from rumbo.db import Database
from rumbo.devices.positions import Position
from rumbo.devices.service import StoreOutcome, store_positions
from rumbo.kit.clock import Clock

log = logging.getLogger(__name__)

_STOP = object()


@dataclass
class _Job:
    positions: Sequence[Position]
    future: asyncio.Future[StoreOutcome]
    loop: asyncio.AbstractEventLoop


class PositionWriter:
    """Stores submitted positions on one thread, many requests per transaction."""

    def __init__(
        self, db: Database, clock: Clock, *, arriving_soon_meters: float, max_positions: int = 2000
    ) -> None:
        self.db = db
        self.clock = clock
        self.arriving_soon_meters = arriving_soon_meters
        self.max_positions = max_positions
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="rumbo-positions", daemon=True)
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

    async def submit(self, positions: Sequence[Position]) -> StoreOutcome:
        """Store ``positions`` in a committed transaction; their outcome, in order."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoreOutcome] = loop.create_future()
        self._queue.put(_Job(positions, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Job)
            jobs = [first]
            size = len(first.positions)
            while size < self.max_positions:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                assert isinstance(nxt, _Job)
                jobs.append(nxt)
                size += len(nxt.positions)
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        merged = [p for job in jobs for p in job.positions]
        try:
            with self.db.session() as session:
                outcome = store_positions(
                    session,
                    merged,
                    self.clock.now(),
                    arriving_soon_meters=self.arriving_soon_meters,
                )
        except Exception as exc:
            if len(jobs) == 1:
                log.exception("storing positions failed")
                _settle(jobs[0], error=exc)
                return
            for job in jobs:  # isolate the failing request
                self._commit([job])
            return
        start = 0
        for job in jobs:
            end = start + len(job.positions)
            verdicts = outcome.verdicts[start:end]
            unknown = {
                p.device_id for p, v in zip(job.positions, verdicts, strict=True) if v is None
            }
            mine = {p.device_id for p in job.positions}
            _settle(
                job,
                StoreOutcome(
                    verdicts=verdicts,
                    unknown_devices=unknown,
                    arriving_soon=[f for f in outcome.arriving_soon if f.device_id in mine],
                ),
            )
            start = end


def _settle(
    job: _Job, outcome: StoreOutcome | None = None, error: BaseException | None = None
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
