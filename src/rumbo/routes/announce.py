"""What planning announces, and who listens: the routes domain calls no other domain.

Every path that sets stops' arrival windows (a new plan, a re-plan, a stop moved) ends
by publishing one :class:`WindowsSet` on :data:`WINDOWS_SET` inside its transaction.
The notifications' "arriving between …" notice subscribes once at startup
(``rumbo.reactions``) and runs in that same transaction, as the reactions to ingestion do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rumbo.kit.topics import Topic


@dataclass(frozen=True, slots=True)
class StopWindow:
    """Stop ``number`` of ``stops`` on a courier's day, expected between ``start`` and ``end``.

    ``shift_starts_at``: when the courier's day starts (a failed attempt after it is
    this day's attempt).
    """

    order_id: int
    shipment_id: int
    number: int
    stops: int
    start: datetime
    end: datetime
    shift_starts_at: datetime


@dataclass(frozen=True, slots=True)
class WindowsSet:
    """One transaction's planning: the windows of the plan's stops still to deliver."""

    merchant_id: int
    plan_id: int
    day: date
    stops: Sequence[StopWindow]
    now: datetime


# The notifications' "arriving between …" notice subscribes (rumbo.reactions).
WINDOWS_SET: Topic[WindowsSet] = Topic("routes.windows_set")
