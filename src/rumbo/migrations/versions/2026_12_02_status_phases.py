"""status keys: re-derive every order under the phase rule (carrier stages outrank store ones)

The stored keys keep their columns (status, time, tie-break), but which event is the
greatest changed: a store-stage event can no longer outrank a carrier-stage one, and the
store's own stages only move forward. Every order's and shipment's stored maximum and
derived status is recomputed from its events with the pure rule in
``rumbo.events.status``; rows that come out the same are left untouched.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02 23:00:00
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from rumbo.events.status import Status, StatusKey, derive_order_status, latest
from rumbo.models.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500

_orders = sa.table(
    "orders",
    sa.column("id", sa.Integer()),
    sa.column("version", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("status_at", UTCDateTime()),
    sa.column("own_status", sa.String()),
    sa.column("own_status_at", UTCDateTime()),
    sa.column("own_status_tiebreak", sa.String()),
    sa.column("shipments_total", sa.Integer()),
    sa.column("shipments_delivered", sa.Integer()),
    sa.column("updated_at", UTCDateTime()),
)
_shipments = sa.table(
    "shipments",
    sa.column("id", sa.Integer()),
    sa.column("order_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("status_at", UTCDateTime()),
    sa.column("own_status", sa.String()),
    sa.column("own_status_at", UTCDateTime()),
    sa.column("own_status_tiebreak", sa.String()),
)
_events = sa.table(
    "events",
    sa.column("order_id", sa.Integer()),
    sa.column("shipment_id", sa.Integer()),
    sa.column("source", sa.String()),
    sa.column("event_id", sa.String()),
    sa.column("status", sa.String()),
    sa.column("occurred_at", UTCDateTime()),
)


def _key_values(key: StatusKey | None, status: Status, at: datetime | None) -> dict[str, Any]:
    return {
        "own_status": key.status.value if key else None,
        "own_status_at": key.occurred_at if key else None,
        "own_status_tiebreak": key.tiebreak if key else None,
        "status": status.value,
        "status_at": at,
    }


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    ids = [row.id for row in conn.execute(sa.select(_orders.c.id).order_by(_orders.c.id))]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        orders = {
            row.id: row for row in conn.execute(sa.select(_orders).where(_orders.c.id.in_(chunk)))
        }
        parcels: dict[int, list[Any]] = defaultdict(list)
        for row in conn.execute(
            sa.select(_shipments).where(_shipments.c.order_id.in_(chunk)).order_by(_shipments.c.id)
        ):
            parcels[row.order_id].append(row)
        order_keys: dict[int, list[StatusKey]] = defaultdict(list)
        parcel_keys: dict[int, list[StatusKey]] = defaultdict(list)
        for ev in conn.execute(
            sa.select(_events).where(_events.c.order_id.in_(chunk), _events.c.status.is_not(None))
        ):
            key = StatusKey.of(Status(ev.status), ev.occurred_at, ev.source, ev.event_id)
            (parcel_keys[ev.shipment_id] if ev.shipment_id else order_keys[ev.order_id]).append(key)
        for order_id, row in orders.items():
            own = latest(order_keys.get(order_id, ()))
            ship_own = []
            for parcel in parcels.get(order_id, ()):
                mine = latest(parcel_keys.get(parcel.id, ()))
                ship_own.append(mine)
                effective = latest((own, mine))
                values = _key_values(
                    mine,
                    effective.status if effective else Status.PENDING,
                    effective.occurred_at if effective else None,
                )
                if any(getattr(parcel, name) != value for name, value in values.items()):
                    conn.execute(
                        _shipments.update().where(_shipments.c.id == parcel.id).values(**values)
                    )
            derived = derive_order_status(own, ship_own)
            values = _key_values(own, derived.status, derived.at) | {
                "shipments_total": derived.shipments_total,
                "shipments_delivered": derived.shipments_delivered,
            }
            if any(getattr(row, name) != value for name, value in values.items()):
                # A new version: cached public views of this order are stale.
                values |= {"version": row.version + 1, "updated_at": now}
                conn.execute(_orders.update().where(_orders.c.id == order_id).values(**values))


def downgrade() -> None:
    """Nothing to undo: the columns are unchanged, and the previous rule's maxima can be
    re-derived from the same events."""
