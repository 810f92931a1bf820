"""courier devices: devices, their tracks and routes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rumbo.models.types

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("recorded_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("speed_kmh", sa.Float(), nullable=True),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_devices_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("device_id", name=op.f("uq_devices_device_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "device_positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("recorded_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=True),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.Column("flag", sa.String(length=16), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_pk"],
            ["devices.id"],
            name=op.f("fk_device_positions_device_pk_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_positions")),
    )
    with op.batch_alter_table("device_positions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_device_positions_device_time", ["device_pk", "recorded_at"], unique=False
        )

    op.create_table(
        "device_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_pk", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("arriving_soon_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_pk"],
            ["devices.id"],
            name=op.f("fk_device_routes_device_pk_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_device_routes_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_routes")),
        sa.UniqueConstraint("shipment_id", name=op.f("uq_device_routes_shipment_id")),
    )
    with op.batch_alter_table("device_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_routes_device_pk"), ["device_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_routes_device_pk"))

    op.drop_table("device_routes")
    with op.batch_alter_table("device_positions", schema=None) as batch_op:
        batch_op.drop_index("ix_device_positions_device_time")

    op.drop_table("device_positions")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_merchant_id"))

    op.drop_table("devices")
