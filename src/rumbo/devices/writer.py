"""Courier positions through the group-commit writer (``rumbo.kit.batching``).

A Traccar Client sends one fix per request; the requests waiting are merged into
one :func:`store_positions` call and one commit, and each request gets back the
verdicts on its own fixes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.devices.positions import Position
from rumbo.devices.service import StoreOutcome, store_positions
from rumbo.kit.batching import BatchWriter
from rumbo.kit.clock import Clock
from rumbo.shared.metrics import POSITIONS


def _count(outcomes: Sequence[StoreOutcome]) -> None:
    POSITIONS.inc(sum(outcome.stored for outcome in outcomes))


class PositionWriter:
    """Stores submitted positions on one thread, many requests per transaction."""

    def __init__(
        self, db: Database, clock: Clock, *, arriving_soon_meters: float, max_positions: int = 2000
    ) -> None:
        self.clock = clock
        self.arriving_soon_meters = arriving_soon_meters
        self._writer: BatchWriter[Sequence[Position], StoreOutcome] = BatchWriter(
            db,
            self._store,
            size=len,
            max_items=max_positions,
            name="rumbo-positions",
            committed=_count,
        )

    def start(self) -> None:
        self._writer.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._writer.stop(timeout)

    async def submit(self, positions: Sequence[Position]) -> StoreOutcome:
        """Store ``positions`` in a committed transaction; their outcome, in order."""
        return await self._writer.submit(positions)

    def _store(self, session: Session, jobs: Sequence[Sequence[Position]]) -> list[StoreOutcome]:
        merged = [p for job in jobs for p in job]
        outcome = store_positions(
            session, merged, self.clock.now(), arriving_soon_meters=self.arriving_soon_meters
        )
        results = []
        start = 0
        for job in jobs:
            end = start + len(job)
            verdicts = outcome.verdicts[start:end]
            unknown = {p.device_id for p, v in zip(job, verdicts, strict=True) if v is None}
            mine = {p.device_id for p in job}
            results.append(
                StoreOutcome(
                    verdicts=verdicts,
                    unknown_devices=unknown,
                    arriving_soon=[f for f in outcome.arriving_soon if f.device_id in mine],
                )
            )
            start = end
        return results
