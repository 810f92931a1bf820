"""Retention: drop courier tracks and blank raw payloads past their age.

Events themselves are kept forever (they are the order's history and the input of
its derived status); after ``payloads_older_than`` only the verbatim payload they
came from is blanked. Track points go after ``positions_older_than`` (each
device's latest position lives on the device row and stays).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from rumbo.db import Database
from rumbo.devices.service import prune_positions
from rumbo.models import DevicePosition, Event

BATCH = 5000
_AGE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w`` → a duration; at least one hour."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an age like 30d, 12h or 2w")
    age = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if age < timedelta(hours=1):
        raise ValueError(f"{text!r} is shorter than an hour")
    return age


@dataclass(frozen=True)
class PruneReport:
    dry_run: bool
    positions_before: datetime | None
    positions_deleted: int
    payloads_before: datetime | None
    payloads_blanked: int


def prune(
    db: Database,
    now: datetime,
    *,
    positions_older_than: timedelta | None,
    payloads_older_than: timedelta | None,
    dry_run: bool = False,
) -> PruneReport:
    """Apply both rules (either may be ``None``: left alone); with ``dry_run`` only count."""
    positions_before = now - positions_older_than if positions_older_than else None
    payloads_before = now - payloads_older_than if payloads_older_than else None
    positions = payloads = 0
    if positions_before is not None:
        if dry_run:
            with db.session(write=False) as session:
                positions = (
                    session.scalar(
                        select(func.count()).where(DevicePosition.recorded_at < positions_before)
                    )
                    or 0
                )
        else:
            with db.session() as session:
                positions = prune_positions(session, positions_before)
    if payloads_before is not None:
        payloads = _blank_payloads(db, payloads_before, dry_run)
    return PruneReport(dry_run, positions_before, positions, payloads_before, payloads)


def _blank_payloads(db: Database, before: datetime, dry_run: bool) -> int:
    """Blank ``events.raw`` received before ``before``, in primary-key order, one short
    transaction per batch: one pass over the table, never a long write lock."""
    stale = (Event.received_at < before, Event.raw != "")
    if dry_run:
        with db.session(write=False) as session:
            return session.scalar(select(func.count()).select_from(Event).where(*stale)) or 0
    blanked, last = 0, 0
    while True:
        with db.session() as session:
            ids = list(
                session.scalars(
                    select(Event.id).where(Event.id > last, *stale).order_by(Event.id).limit(BATCH)
                )
            )
            if not ids:
                return blanked
            session.execute(update(Event).where(Event.id.in_(ids)).values(raw=""))
        blanked += len(ids)
        last = ids[-1]
