"""Canonical statuses and the one precedence rule that derives a status from events.

Events arrive late, twice and out of order, from systems that disagree. The status
shown must be a function of the *set* of events received, never of their arrival
order. Rumbo gets that by giving every event a :class:`StatusKey` — a total order —
and defining the status as the status of the greatest key. Keys compare by:

1. **Tier.** ``returned`` (tier 2) beats ``delivered`` and ``cancelled`` (tier 1),
   which beat every other status (tier 0). So a terminal state is only left by an
   explicit later terminal event of a higher or equal tier: a carrier's
   ``in_transit`` scan dated after the courier's proof of delivery stays in the
   timeline but does not move the status; ``returned`` after ``delivered`` does.
2. **Phase.** Inside tier 0 the journey has two phases: the *store's* (``pending``,
   ``payment_confirmed``, ``preparing``) and the *carrier's* (``shipped`` and
   everything after it, exceptions included). Any carrier-phase event outranks
   every store-phase event, whatever their times: once a carrier has the parcel, a
   boleto confirmed late or a card captured at dispatch (``payment_confirmed`` at
   11:00 after ``shipped`` at 10:00) stays in the timeline but cannot pull the
   status back to a store stage.
3. **Inside a phase.** The store's phase only moves forward: the further milestone
   wins (``preparing`` beats a later ``payment_confirmed``, and the order's own
   "placed" record — ``pending``, stamped when the order reached Rumbo — never
   outranks a real event, however late the order was registered); time breaks
   ties. The carrier's phase follows time, because its back-and-forth is real
   (``out_for_delivery`` → ``delivery_failed`` → ``in_transit`` →
   ``out_for_delivery``): the later ``occurred_at`` wins and, at equal times, the
   further milestone (``RANK`` below).
4. **Tie-break.** Equal in all of the above: the greater ``source:event_id``
   string wins, so even identical twins from two sources give one answer.

Events dated in the future (beyond the clock-skew tolerance) never get a key:
ingestion refuses them, so a mistyped year cannot freeze an order.

Because the status is a maximum, adding an event is O(1) (compare with the stored
maximum), a duplicate changes nothing, and any permutation of the same events
gives the same result. An order with several shipments takes its status from
theirs (:func:`derive_order_status`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    """A canonical milestone or exception (see PRODUCT.md, "The journey")."""

    PENDING = "pending"
    PAYMENT_CONFIRMED = "payment_confirmed"
    PREPARING = "preparing"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    EXCEPTION = "exception"
    RETURNED = "returned"
    CANCELLED = "cancelled"


# The happy path, in order: what a progress bar shows.
MILESTONES: tuple[Status, ...] = (
    Status.PENDING,
    Status.PAYMENT_CONFIRMED,
    Status.PREPARING,
    Status.SHIPPED,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.DELIVERED,
)

# States that interrupt the journey and that a shopper may have to act on.
EXCEPTIONS: frozenset[Status] = frozenset(
    {Status.DELIVERY_FAILED, Status.AVAILABLE_FOR_PICKUP, Status.EXCEPTION}
)

TERMINAL: frozenset[Status] = frozenset({Status.DELIVERED, Status.RETURNED, Status.CANCELLED})

# How far along the journey a status is. Exceptions sit just after the milestone
# they usually follow, so that at equal times the more specific news wins.
RANK: dict[Status, int] = {
    Status.PENDING: 0,
    Status.PAYMENT_CONFIRMED: 10,
    Status.PREPARING: 20,
    Status.SHIPPED: 30,
    Status.IN_TRANSIT: 40,
    Status.EXCEPTION: 45,
    Status.OUT_FOR_DELIVERY: 50,
    Status.DELIVERY_FAILED: 55,
    Status.AVAILABLE_FOR_PICKUP: 60,
    Status.DELIVERED: 70,
    Status.CANCELLED: 80,
    Status.RETURNED: 90,
}

TIER: dict[Status, int] = {Status.RETURNED: 2, Status.DELIVERED: 1, Status.CANCELLED: 1}

# The store's side of the journey; everything else in tier 0 is the carrier's.
STORE_PHASE: frozenset[Status] = frozenset(
    {Status.PENDING, Status.PAYMENT_CONFIRMED, Status.PREPARING}
)


@dataclass(frozen=True, order=True, slots=True)
class StatusKey:
    """The precedence of one event; the status is the status of the greatest key."""

    tier: int
    phase: int  # 0 the store's, 1 the carrier's (and every terminal state)
    progress: int  # the milestone's rank in the store's phase (forward only), else 0
    occurred_at: datetime
    rank: int
    tiebreak: str
    status: Status = field(compare=False)

    @classmethod
    def of(cls, status: Status, occurred_at: datetime, source: str, event_id: str) -> StatusKey:
        store = status in STORE_PHASE
        return cls(
            TIER.get(status, 0),
            0 if store else 1,
            RANK[status] if store else 0,
            occurred_at,
            RANK[status],
            f"{source}:{event_id}",
            status,
        )


def latest(keys: Iterable[StatusKey | None]) -> StatusKey | None:
    """The winning key among ``keys`` (``None`` entries and an empty input give ``None``)."""
    best: StatusKey | None = None
    for key in keys:
        if key is not None and (best is None or key > best):
            best = key
    return best


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """An order's derived status and, when it has shipments, how they stand."""

    status: Status
    at: datetime | None = None
    shipments_total: int = 0
    shipments_delivered: int = 0

    @property
    def partially_delivered(self) -> bool:
        return 0 < self.shipments_delivered < self.shipments_total


def derive_order_status(
    order_key: StatusKey | None, shipment_keys: Iterable[StatusKey | None]
) -> OrderStatus:
    """Combine the order-wide events' key with each shipment's own key.

    Events addressed to the order (payment, warehouse, a store's cancel) apply to
    every shipment, so a shipment's status is the greater of the order-wide key
    and its own. Over several shipments:

    - all terminal: ``delivered`` if any was delivered, else ``returned`` if any
      was returned, else ``cancelled``;
    - otherwise, among the shipments still moving, an exception surfaces first
      (it is what the shopper must know or act on), else the least advanced one.
    """
    shipments = [latest((order_key, own)) for own in shipment_keys]
    if not shipments:
        if order_key is None:
            return OrderStatus(Status.PENDING)
        return OrderStatus(order_key.status, order_key.occurred_at)
    effective = [(key.status if key else Status.PENDING, key) for key in shipments]
    total = len(effective)
    delivered = sum(status is Status.DELIVERED for status, _ in effective)

    def settle(candidates: list[tuple[Status, StatusKey | None]], status: Status) -> OrderStatus:
        at = max((key.occurred_at for s, key in candidates if s is status and key), default=None)
        return OrderStatus(status, at, total, delivered)

    active = [pair for pair in effective if pair[0] not in TERMINAL]
    if not active:
        statuses = {status for status, _ in effective}
        order = (Status.DELIVERED, Status.RETURNED, Status.CANCELLED)
        return settle(effective, next(t for t in order if t in statuses))
    troubled = [pair for pair in active if pair[0] in EXCEPTIONS]
    pool = troubled or active
    pick = min((status for status, _ in pool), key=RANK.__getitem__)
    return settle(pool, pick)
