"""orders: destination, origin and attributes as jsonb on PostgreSQL

Analytics, stale detection and rescoring read single fields of these documents
(``->>``, ``#>>``) for every order of a range. PostgreSQL's ``json`` keeps the text
and parses it again for each field read; ``jsonb`` stores it decomposed, so a field
read costs a lookup (https://www.postgresql.org/docs/current/datatype-json.html).
Every stored value converts with a cast (``ALTER TABLE ... ALTER COLUMN ... TYPE ...
USING``, https://www.postgresql.org/docs/current/sql-altertable.html); the table is
rewritten once. SQLite has a single JSON type: nothing to do there.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-23 13:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("destination", "origin", "attributes")


def _convert(to: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    changes = ", ".join(f"ALTER COLUMN {c} TYPE {to} USING {c}::{to}" for c in COLUMNS)
    op.execute(f"ALTER TABLE orders {changes}")


def upgrade() -> None:
    _convert("jsonb")


def downgrade() -> None:
    _convert("json")
