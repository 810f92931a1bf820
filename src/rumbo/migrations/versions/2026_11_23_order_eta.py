"""latest delivery-date prediction and risk on orders

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rumbo.models.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = rumbo.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eta_estimated", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("eta_earliest", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("eta_latest", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("on_time_probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("risk", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("eta_model_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("eta_scored_at", _WHEN, nullable=True))
        batch_op.create_index("ix_orders_merchant_risk", ["merchant_id", "risk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_merchant_risk")
        for column in (
            "eta_scored_at",
            "eta_model_version",
            "risk",
            "on_time_probability",
            "eta_latest",
            "eta_earliest",
            "eta_estimated",
        ):
            batch_op.drop_column(column)
