"""carrier connections and merchants' carrier code mappings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rumbo.models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("signing_secret", sa.Text(), nullable=True),
        sa.Column("created_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_carrier_connections_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_connections")),
        sa.UniqueConstraint(
            "merchant_id", "carrier", name=op.f("uq_carrier_connections_merchant_id_carrier")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_carrier_connections_token_hash")),
    )
    op.create_table(
        "carrier_code_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_carrier_code_mappings_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_code_mappings")),
        sa.UniqueConstraint(
            "merchant_id",
            "carrier",
            "code",
            name=op.f("uq_carrier_code_mappings_merchant_id_carrier_code"),
        ),
    )


def downgrade() -> None:
    op.drop_table("carrier_code_mappings")
    op.drop_table("carrier_connections")
