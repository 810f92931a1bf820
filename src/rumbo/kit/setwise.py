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

from collections import namedtuple
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, bindparam
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


class _Prepared:
    """A constant statement compiled once: its text, default parameters and the columns'
    result conversions."""

    __slots__ = ("statement", "sql", "defaults", "processors", "row")

    def __init__(self, conn: Connection, statement: Select[*tuple[Any, ...]]) -> None:
        dialect = conn.dialect
        compiled = statement.compile(dialect=dialect)
        self.statement = statement  # kept alive: the cache is keyed by its id
        self.sql = str(compiled)
        self.defaults = dict(compiled.params)
        self.processors: list[Any] | None = None  # known with the first result's types
        names = [column.key or f"c{i}" for i, column in enumerate(statement.selected_columns)]
        self.row: Any = _row_class(names)

    def rows(self, conn: Connection, cursor: Any) -> list[Any]:
        raw = cursor.fetchall()
        processors = self.processors
        if processors is None:
            # The columns' own conversions (e.g. UTC datetimes), as SQLAlchemy applies
            # them; numeric types need the type the driver reports.
            dialect = conn.dialect
            processors = self.processors = [
                column.type.dialect_impl(dialect).result_processor(dialect, described.type_code)
                for column, described in zip(
                    self.statement.selected_columns, cursor.description, strict=True
                )
            ]
        if not any(processors):
            return [self.row._make(values) for values in raw]
        return [
            self.row._make(
                [p(v) if p is not None else v for p, v in zip(processors, values, strict=True)]
            )
            for values in raw
        ]


def _row_class(names: list[str]) -> Any:
    return namedtuple("Row", names, rename=True)  # noqa: PYI024


_PREPARED: dict[int, _Prepared] = {}


def _prepared(conn: Connection, statement: Select[*tuple[Any, ...]]) -> _Prepared:
    found = _PREPARED.get(id(statement))
    if found is None or found.statement is not statement:
        if len(_PREPARED) > 256:  # constants are few; a caller building them per call
            _PREPARED.clear()
        found = _PREPARED[id(statement)] = _Prepared(conn, statement)
    return found


Read = tuple[Select[*tuple[Any, ...]], dict[str, Any]]


def read_together(conn: Connection, reads: Sequence[Read]) -> list[list[Any]]:
    """The rows of independent reads, in order, in one round trip on PostgreSQL.

    Each read is a *constant* statement (defined once, at module level, with named
    bind parameters) and its parameters. psycopg's pipeline mode sends every query
    before waiting for the first answer
    (https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html), so reads that do not
    depend on each other cost one wait on the database instead of one each; inside a
    transaction at a time, that wait is what bounds the commits per second. Each
    statement is compiled once per process (compiling a select costs more than running
    it), and rows come back as named tuples with the columns' own result conversions.
    A single read goes through the pipeline too: as the first statement of a
    transaction it carries the BEGIN, one round trip instead of two. SQLite, in
    process, runs them one after the other through SQLAlchemy.
    """
    if conn.dialect.name != "postgresql" or not reads:
        return [list(conn.execute(statement, params)) for statement, params in reads]
    driver = conn.connection.driver_connection
    assert driver is not None
    prepared = [_prepared(conn, statement) for statement, _ in reads]
    cursors = []
    with driver.pipeline():
        for ready, (_, params) in zip(prepared, reads, strict=True):
            cursor = driver.cursor()
            cursor.execute(ready.sql, ready.defaults | params)
            cursors.append(cursor)
    rows = [ready.rows(conn, cursor) for ready, cursor in zip(prepared, cursors, strict=True)]
    for cursor in cursors:
        cursor.close()
    return rows
