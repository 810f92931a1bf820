"""Set-based statements: a whole batch in one statement whose text never changes.

A batch written row by row, or as a multi-row ``VALUES`` list whose length varies,
costs a round trip per row or a fresh parse of a statement as long as the batch
(psycopg converts every new query text, PostgreSQL plans it). On PostgreSQL the
writers here pass one array per column and let ``unnest()`` turn them back into
rows, so the statement text is the same for every batch; lookups by a list of ids
use ``= ANY(array)`` for the same reason. SQLite keeps the portable forms, in chunks
under its variable limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import any_

CHUNK = 500  # ids per IN (...) list on SQLite


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def among(conn: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``: one parameter, so the
    statement text is the same for every batch and psycopg converts it once."""
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        matches: ColumnElement[bool] = column == any_(array)
        return matches
    listed: ColumnElement[bool] = column.in_(values)
    return listed


def batches_of(conn: Connection, values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """``values`` in one piece on PostgreSQL (``= ANY`` takes any length), in chunks on
    SQLite; use with :func:`among`."""
    if conn.dialect.name == "postgresql":
        if values:
            yield values
        return
    yield from chunks(values)


def unnest(columns: dict[str, str]) -> str:
    """``unnest(%b::type[], ...)`` over ``columns`` (name -> PostgreSQL array type).

    ``%b``: binary parameters (text arrays in text format are escaped element by
    element)."""
    return "unnest(" + ", ".join(f"%b::{kind}" for kind in columns.values()) + ")"


def arrays(rows: Sequence[dict[str, Any]], columns: dict[str, str]) -> tuple[list[Any], ...]:
    """The parameters of an :func:`unnest`: one list per column, in ``columns``' order."""
    return tuple([row[name] for row in rows] for name in columns)


def pg_update(table: str, columns: dict[str, str]) -> str:
    """``UPDATE table`` of many rows by id, one statement: the first array holds the ids."""
    names = ", ".join(columns)
    assignments = ", ".join(f"{name} = u.{name}" for name in columns)
    return (
        f"UPDATE {table} AS t SET {assignments} FROM {unnest({'row_id': 'int[]'} | columns)}"
        f" AS u(row_id, {names}) WHERE t.id = u.row_id"
    )
