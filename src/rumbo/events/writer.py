"""Event ingestion through the group-commit writer (``rumbo.kit.batching``).

The waiting requests of each merchant are merged into one
:func:`~rumbo.events.service.ingest` call — fifty single-event requests cost
about what one fifty-event batch costs — and the outcomes are split back, each
request seeing its own items (with its own indexes) and the status changes of
its own orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.events.service import MAX_CLOCK_SKEW, IngestOutcome, NormalizedEvent, ingest
from rumbo.kit.batching import BatchWriter
from rumbo.kit.clock import Clock
from rumbo.shared.metrics import EVENTS


@dataclass(frozen=True)
class IngestJob:
    merchant_id: int
    events: Sequence[tuple[int, NormalizedEvent]]


class IngestWriter:
    """Stores submitted events on one thread, many requests per transaction."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        max_events: int = 5000,
        max_skew: timedelta = MAX_CLOCK_SKEW,
        threads: int = 1,
    ) -> None:
        self._writer: BatchWriter[IngestJob, IngestOutcome] = BatchWriter(
            db,
            lambda session, jobs: _ingest_together(session, jobs, clock, max_skew),
            size=lambda job: len(job.events),
            max_items=max_events,
            name="rumbo-writer",
            committed=_count,
            threads=threads,
        )

    def start(self) -> None:
        self._writer.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._writer.stop(timeout)

    async def submit(
        self, merchant_id: int, events: Sequence[tuple[int, NormalizedEvent]]
    ) -> IngestOutcome:
        """Store ``events`` (with their indexes in the request) in a committed transaction."""
        return await self._writer.submit(IngestJob(merchant_id, events))


def _count(outcomes: Sequence[IngestOutcome]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        for result in outcome.results:
            counts[result.outcome] += 1
    for name, count in counts.items():
        EVENTS.labels(name).inc(count)


def _ingest_together(
    session: Session, jobs: Sequence[IngestJob], clock: Clock, max_skew: timedelta
) -> list[IngestOutcome]:
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
        merged = ingest(session, merchant_id, combined, now, max_skew=max_skew)
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
