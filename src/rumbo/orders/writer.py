"""Order creation through the group-commit writer (``rumbo.kit.batching``).

Stores create orders one request at a time, many at once in a sale: the requests
waiting are merged per merchant into one :func:`~rumbo.orders.service.create_orders`
call and one commit, and each request gets back its own orders (or refusals) as
``OrderOut`` — built inside the transaction, after which a 2xx means "stored".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from rumbo.db import Database
from rumbo.errors import RumboError
from rumbo.kit.batching import BatchWriter
from rumbo.kit.clock import Clock
from rumbo.orders import service
from rumbo.orders.schemas import OrderCreate, OrderOut


@dataclass(frozen=True)
class CreateJob:
    merchant_id: int
    items: Sequence[tuple[int, OrderCreate]]


@dataclass(frozen=True)
class Created:
    """One item's outcome: the order (``created`` or already there) or a refusal."""

    index: int
    order: OrderOut | None = None
    created: bool = False
    error: RumboError | None = None


class OrderWriter:
    """Creates submitted orders on one thread, many requests per transaction."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        base_url: str,
        max_skew: timedelta,
        max_orders: int,
        threads: int = 1,
    ) -> None:
        self.clock = clock
        self.base_url = base_url
        self.max_skew = max_skew
        self._writer: BatchWriter[CreateJob, list[Created]] = BatchWriter(
            db,
            self._create,
            size=lambda job: len(job.items),
            max_items=max_orders,
            name="rumbo-orders",
            threads=threads,
        )

    def start(self) -> None:
        self._writer.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._writer.stop(timeout)

    async def submit(
        self, merchant_id: int, items: Sequence[tuple[int, OrderCreate]]
    ) -> list[Created]:
        """Create ``items`` (with their indexes in the request) in a committed transaction."""
        return await self._writer.submit(CreateJob(merchant_id, items))

    def _create(self, session: Session, jobs: Sequence[CreateJob]) -> list[list[Created]]:
        now = self.clock.now()
        by_merchant: dict[int, list[int]] = defaultdict(list)
        for position, job in enumerate(jobs):
            by_merchant[job.merchant_id].append(position)
        results: list[list[Created]] = [[] for _ in jobs]
        for merchant_id, positions in by_merchant.items():
            # Jobs in arrival order: the same external id in two requests is settled as
            # if they had come one after the other.
            owners: list[tuple[int, int]] = []  # merged position -> (job, index in job)
            merged: list[tuple[int, OrderCreate]] = []
            for position in positions:
                for index, data in jobs[position].items:
                    merged.append((len(owners), data))
                    owners.append((position, index))
            outcomes = service.create_orders(
                session, merchant_id, merged, now, max_skew=self.max_skew
            )
            orders = [o.order for o in outcomes if o.order is not None]
            shipments = service.shipments_of(session, [order.id for order in orders])
            news = service.shipments_news(
                session, [s for group in shipments.values() for s in group], now
            )
            for outcome in outcomes:
                position, index = owners[outcome.index]
                if outcome.order is None:
                    results[position].append(Created(index, error=outcome.error))
                    continue
                out = service.order_out(
                    outcome.order, shipments[outcome.order.id], self.base_url, news
                )
                results[position].append(Created(index, out, outcome.created))
        return results
