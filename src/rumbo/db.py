"""Engine, the one session dependency, and the declarative base.

SQLite (the embedded default) runs in WAL mode: readers never wait for the
writer. Write transactions start with ``BEGIN IMMEDIATE`` so that two writers
queue on SQLite's busy timeout instead of failing when one upgrades a read lock;
read-only requests start a plain deferred transaction and never take the lock.
PostgreSQL runs the same code and the same migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, MetaData, create_engine, event
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
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
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
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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

    def dispose(self) -> None:
        self.engine.dispose()


def get_session(request: Request) -> Iterator[Session]:
    db: Database = request.app.state.db
    with db.session(write=request.method not in SAFE_METHODS) as session:
        yield session


# Scope "function": the commit runs before the response is sent, so a client never
# receives a 2xx for a transaction that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
