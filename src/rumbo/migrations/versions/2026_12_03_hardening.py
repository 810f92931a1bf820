"""hardening: shared abuse-limit counters; device identifiers kept only as hashes

Existing devices keep working: the identifier each one sends is hashed as it is, and
stays its handle in the API (it was chosen, and may be guessable: rotate it with
``POST /api/v1/devices/{device_id}/rotate``).

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03 02:30:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
# The devices table comes from 0003, a branch of its own.
depends_on: str | Sequence[str] | None = "0003"


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("started", sa.Float(), nullable=False),
        sa.Column("previous", sa.Float(), nullable=False),
        sa.Column("current", sa.Float(), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name=op.f("pk_rate_limit_counters")),
    )
    op.create_index(
        op.f("ix_rate_limit_counters_expires_at"), "rate_limit_counters", ["expires_at"]
    )

    op.add_column("devices", sa.Column("secret_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    for pk, device_id in conn.execute(sa.text("SELECT id, device_id FROM devices")).all():
        conn.execute(
            sa.text("UPDATE devices SET secret_hash = :hash WHERE id = :pk"),
            {"hash": hashlib.sha256(device_id.encode()).hexdigest(), "pk": pk},
        )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("secret_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_devices_device_id", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_devices_secret_hash"), ["secret_hash"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_devices_merchant_id_device_id"), ["merchant_id", "device_id"]
        )


def downgrade() -> None:
    # The identifiers generated since cannot be recovered from their hashes: downgrading
    # keeps the handles, which those devices do not send.
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_devices_merchant_id_device_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_devices_secret_hash"), type_="unique")
        batch_op.create_unique_constraint("uq_devices_device_id", ["device_id"])
        batch_op.drop_column("secret_hash")
    op.drop_index(op.f("ix_rate_limit_counters_expires_at"), table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
