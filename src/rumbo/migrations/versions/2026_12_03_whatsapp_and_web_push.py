"""whatsapp and web push: merchant WhatsApp senders, push subscriptions, opt-ins, read receipts

Revision ID: 0019
Revises: 0012
Create Date: 2026-12-03 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rumbo.models.types

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
# The notification tables it extends live on their own branch.
depends_on: str | Sequence[str] | None = "0004"


def upgrade() -> None:
    op.create_table(
        "whatsapp_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.String(length=1000), nullable=False),
        sa.Column("app_secret", sa.String(length=200), nullable=False),
        sa.Column("verify_token", sa.String(length=200), nullable=False),
        sa.Column("api_version", sa.String(length=16), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("paused_templates", sa.JSON(), nullable=False),
        sa.Column("updated_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_whatsapp_accounts_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_accounts")),
        sa.UniqueConstraint("merchant_id", name=op.f("uq_whatsapp_accounts_merchant_id")),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("created_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_push_subscriptions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint(
            "order_id", "endpoint", name=op.f("uq_push_subscriptions_order_id_endpoint")
        ),
    )
    op.create_index(
        op.f("ix_push_subscriptions_order_id"), "push_subscriptions", ["order_id"], unique=False
    )
    with op.batch_alter_table("shopper_preferences") as batch:
        batch.add_column(sa.Column("whatsapp", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column(
                "whatsapp_opt_in_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("whatsapp_opt_in_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("push", sa.Boolean(), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column("delivered_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("read_at", rumbo.models.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index("ix_outbox_messages_reference", "outbox_messages", ["reference"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_reference", table_name="outbox_messages")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("read_at")
        batch.drop_column("delivered_at")
    with op.batch_alter_table("shopper_preferences") as batch:
        batch.drop_column("push")
        batch.drop_column("whatsapp_opt_in_source")
        batch.drop_column("whatsapp_opt_in_at")
        batch.drop_column("whatsapp")
    op.drop_index(op.f("ix_push_subscriptions_order_id"), table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_table("whatsapp_accounts")
