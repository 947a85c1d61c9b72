"""Engine, sessions and the session dependency.

SQLite runs in WAL mode with ``synchronous=FULL`` so an acknowledged commit survives a crash;
transactions that write begin with ``BEGIN IMMEDIATE`` so a reader never has to upgrade its
lock (which SQLite refuses with ``SQLITE_BUSY_SNAPSHOT``). PostgreSQL uses psycopg 3.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from kizuna.kit.write_slot import WriteSlot

_HOLDS_WRITE_SLOT = "kizuna_holds_write_slot"
WRITE_SLOT_TIMEOUT = 30.0


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )
        _configure_sqlite(engine, synchronous)
        return engine
    # No server-side prepared statements: a generic plan chosen while a table was empty (a
    # sequential scan) would stay cached as the table grows (seen on dedup_keys lookups).
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"prepare_threshold": None},
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("kizuna_async_commit"):
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")

    return engine


# SQLite checkpoints the WAL into the database file when a commit leaves it longer than this
# (its default is 1,000 pages, 4 MB). The committing writer pays for the checkpoint while it
# holds the one write slot, and a page written by many commits is copied once per checkpoint:
# with 10,000 pages (40 MB) a segments consumer's commit fell from about 55 ms to 10 ms under
# load (bench/segments.py), at the cost of a WAL file of up to about 40 MB between checkpoints.
WAL_AUTOCHECKPOINT_PAGES = 10_000


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    sync = synchronous.upper()
    if sync not in {"FULL", "NORMAL", "EXTRA", "OFF"}:
        raise ValueError(f"unsupported sqlite synchronous mode {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sync}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    # Writers queue on a slot (see kizuna.kit.write_slot) taken by a writing BEGIN and given
    # back when the connection returns to the pool (after COMMIT or ROLLBACK) or is invalidated.
    database = engine.url.database
    file = Path(database) if database and database != ":memory:" else None
    write_slot = WriteSlot(file, WRITE_SLOT_TIMEOUT)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        info = conn.connection.info  # the pooled connection's, shared with the pool events
        if mode != "DEFERRED" and not info.get(_HOLDS_WRITE_SLOT):
            write_slot.acquire()
            info[_HOLDS_WRITE_SLOT] = True
        conn.exec_driver_sql(f"BEGIN {mode}")

    def _give_back(record: Any) -> None:
        if record is not None and record.info.pop(_HOLDS_WRITE_SLOT, False):
            write_slot.release()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_: Any, record: Any) -> None:
        _give_back(record)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_: Any, record: Any, __: Any) -> None:
        _give_back(record)


class Database:
    """Owns the engine and hands out sessions: ``write()`` for use-cases, ``read()`` for views."""

    def __init__(self, url: str, *, synchronous: str = "FULL") -> None:
        self.url = normalise_url(url)
        self.synchronous = synchronous
        self.engine = make_engine(self.url, synchronous=synchronous)
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        read_engine = self.engine.execution_options(sqlite_begin="DEFERRED")
        self._read = sessionmaker(read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self) -> Session:
        return self._write()

    def read(self) -> Session:
        return self._read()

    def dispose(self) -> None:
        self.engine.dispose()

    def for_projections(self) -> Database:
        """Sessions whose commits do not wait for the disk, for state rebuilt from the log.

        A consumer commits its projection and its offset together, so a commit lost to a power
        cut only replays events through idempotent handlers. Waiting for an fsync there would
        hold the one write slot that ingestion needs. SQLite: ``synchronous=NORMAL`` on its own
        engine (in WAL mode the next ingestion commit's fsync covers these frames too, and the
        file is never corrupted); PostgreSQL: ``synchronous_commit = off`` for the transaction.
        Acknowledged events are never written through this.
        """
        if self.dialect == "sqlite":
            return Database(self.url, synchronous="NORMAL")
        relaxed = copy.copy(self)
        engine = self.engine.execution_options(kizuna_async_commit=True)
        relaxed._write = sessionmaker(engine, expire_on_commit=False)
        return relaxed


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _write_session(request: Request) -> Iterator[Session]:
    """A session per request; commit at the edge, roll back on any error."""
    db = get_database(request)
    with db.write() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _read_session(request: Request) -> Iterator[Session]:
    db = get_database(request)
    with db.read() as session:
        yield session


SessionDep = Annotated[Session, Depends(_write_session)]
ReadSessionDep = Annotated[Session, Depends(_read_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
