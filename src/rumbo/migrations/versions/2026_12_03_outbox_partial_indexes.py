"""outbox indexes that hold only what is looked up: due messages, provider references

Every notification inserted paid for an entry in the provider-reference index (NULL
until a provider answers, and most channels never answer) and stayed in the due index
after it was sent or suppressed. Both become partial: the due index holds queued and
sending messages only (what the worker claims), the reference index only rows that
have one (what provider callbacks look up).

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = sa.text("status IN ('queued', 'sending')")
_REFERENCED = sa.text("reference IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_due",
        "outbox_messages",
        ["status", "next_attempt_at"],
        postgresql_where=_DUE,
        sqlite_where=_DUE,
    )
    op.drop_index("ix_outbox_messages_reference", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_reference",
        "outbox_messages",
        ["reference"],
        postgresql_where=_REFERENCED,
        sqlite_where=_REFERENCED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_reference", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_reference", "outbox_messages", ["reference"])
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_due", "outbox_messages", ["status", "next_attempt_at"])
