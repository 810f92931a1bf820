"""What ingestion announces, and who listens: the events domain calls no other domain.

Every path that changes stored events (:func:`rumbo.events.service.ingest`, a carrier
code re-mapped) ends by publishing one :class:`Ingested` inside its transaction. The
reactions — the notifications' outbox, live tracking pages — subscribe once at startup
in the composition roots (``rumbo.reactions``, called by ``app.py``, ``worker.py`` and
``cli.py``), and run in that same transaction: an outbox row commits with its event or
not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from rumbo.events.status import Status


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An order's derived status moved (what notifications and live pages react to)."""

    order_id: int
    old: Status
    new: Status
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Ingested:
    """One transaction's news: ``order_ids`` got new events (their public view changed),
    ``changes`` moved derived statuses."""

    merchant_id: int
    order_ids: Sequence[int]
    changes: Sequence[StatusChange]
    now: datetime


Reaction = Callable[[Session, Ingested], None]

_reactions: list[Reaction] = []


def subscribe(reaction: Reaction) -> None:
    """Run ``reaction`` in every ingesting transaction of this process (idempotent)."""
    if reaction not in _reactions:
        _reactions.append(reaction)


def subscribers() -> tuple[Reaction, ...]:
    return tuple(_reactions)


def publish(session: Session, news: Ingested) -> None:
    """Run every subscribed reaction, in subscription order, in ``session``'s transaction."""
    for reaction in _reactions:
        reaction(session, news)
