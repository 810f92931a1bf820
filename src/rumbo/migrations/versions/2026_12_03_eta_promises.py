"""eta_promises: the delivery-date predictions as they were shown

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-03 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rumbo.models.types

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = rumbo.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "eta_promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("shown_at", _WHEN, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("estimated", _WHEN, nullable=False),
        sa.Column("earliest", _WHEN, nullable=False),
        sa.Column("latest", _WHEN, nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_eta_promises_merchant_order",
        "eta_promises",
        ["merchant_id", "order_id", "shown_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_eta_promises_merchant_order", table_name="eta_promises")
    op.drop_table("eta_promises")
