"""analytics: indexes that let one query read a date range's milestones

Analytics select a merchant's orders by purchase time and, for each, the first time
at each milestone. ``ix_orders_merchant_placed`` finds the range without scanning
the merchant's other orders; ``ix_events_order_status_time`` holds everything the
per-order ``GROUP BY`` with conditional ``MIN`` reads, so both databases answer it
from the index alone instead of visiting every event row (each carries its raw
payload). It costs one more index entry per event written.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-23 12:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_merchant_placed", "orders", ["merchant_id", "placed_at"])
    op.create_index("ix_events_order_status_time", "events", ["order_id", "status", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_events_order_status_time", table_name="events")
    op.drop_index("ix_orders_merchant_placed", table_name="orders")
