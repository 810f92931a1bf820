"""Engine, the one session dependency, and the declarative base.

SQLite (the embedded default) runs in WAL mode: readers never wait for the
writer. Write transactions start with ``BEGIN IMMEDIATE`` so that two writers
queue on SQLite's busy timeout instead of failing when one upgrades a read lock;
read-only requests start a plain deferred transaction and never take the lock.
PostgreSQL runs the same code and the same migrations.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from rumbo.config import Settings

# Constraint names fixed by convention so migrations are the same on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


WRITE = {"sqlite_immediate": True}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def make_engine(url: str, *, sqlite_synchronous: str = "NORMAL", **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        if "poolclass" not in kwargs and ":memory:" not in url:
            # Keep a connection per concurrent request thread (AnyIO's pool runs up to 40):
            # beyond the default 5 + 10 every checkout opened, configured and closed a
            # connection, and its page cache started cold.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 40)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    # Keep as many connections as the request threads use at once: a checkout beyond
    # the pool opens a connection (a TCP and authentication handshake, several ms) and
    # closes it on return, which under 16 concurrent lookups per process was 6 % of
    # their time. At most 30 per process, as before.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    # No pre-ping: it costs a round trip on every checkout. Connections are recycled
    # instead, and a dropped one fails one request rather than slowing all of them.
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    # pysqlite's own transaction handling cannot start BEGIN IMMEDIATE; take it over
    # (the recipe in SQLAlchemy's "Serializable isolation / Savepoints" notes).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # A 64 MiB page cache and memory-mapped reads: random lookups by tracking
        # code stay in memory instead of costing a read() per page.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint the WAL every ~40 MiB instead of ~4 MiB: an order updated many
        # times is written back to the database file once, with fewer fsyncs.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("sqlite_immediate", False):
            _begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")


_BUSY_TIMEOUT_MS = 30_000


def _begin_immediate(dbapi_connection: Any) -> None:
    """Take SQLite's write lock, retrying every ~millisecond.

    SQLite's own busy handler backs off to 100 ms sleeps, so two processes
    handing the lock back and forth wait far longer than either holds it.
    Retrying at a short, jittered interval hands it over within a millisecond.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.0005 + random.random() * 0.001)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")


class Database:
    """An engine and its sessions; one per process (``app.state.db``)."""

    def __init__(self, settings: Settings, **engine_kwargs: Any) -> None:
        self.settings = settings
        self.url = settings.sqlalchemy_url
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = make_engine(
            self.url, sqlite_synchronous=settings.sqlite_synchronous, **engine_kwargs
        )
        # Sessions connect lazily: a request that never touches the database takes no lock.
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(self.engine.execution_options(**WRITE), expire_on_commit=False)
        # The same pool; psycopg switches autocommit on the client, with no round trip.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with (self._writers if write else self._readers)() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A bare connection for hot read paths that need no ORM.

        On PostgreSQL in autocommit: at READ COMMITTED every statement takes its own
        snapshot anyway, so a transaction around the reads adds its BEGIN and COMMIT
        round trips and nothing else. SQLite reads in one deferred transaction (one
        snapshot of the WAL, no lock)."""
        if self.engine.dialect.name == "postgresql":
            with self._autocommit.connect() as conn:
                yield conn
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def get_session(request: Request) -> Iterator[Session]:
    db = database_of(request)
    with db.session(write=request.method not in SAFE_METHODS) as session:
        yield session


# Scope "function": the commit runs before the response is sent, so a client never
# receives a 2xx for a transaction that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def database_of(request: Request) -> Database:
    """The process's database (for hot paths that take no dependency: see DatabaseDep)."""
    database: Database = request.app.state.db
    return database


async def _database_of(request: Request) -> Database:
    return database_of(request)


# The process's database, for work outside the request's own session (short reads of
# its own, threads): a typed dependency instead of reading app.state by hand.
DatabaseDep = Annotated[Database, Depends(_database_of)]
