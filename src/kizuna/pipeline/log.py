"""The event log and consumer offsets behind a small interface.

``SqlEventLog`` keeps the log in the ``events`` table: ``seq`` is the position and appends are
serialised (one writer on SQLite, an advisory lock on PostgreSQL) so a reader that has seen
``seq`` N can never later see a smaller one commit. A later NATS JetStream implementation
provides the same two protocols for multi-node deployments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection

from kizuna.ingestion.rules import LogEntry
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import BulkInsert, insert_ignore, utc_param
from kizuna.models import ConsumerOffset, Event
from kizuna.privacy.sealing import open_payload

APPEND_LOCK_KEY = 7_401_932  # pg_advisory_xact_lock key that serialises appends
SYSTEM_SOURCE = "kizuna"  # the source of Kizuna's own events (kizuna.pipeline.system_events)


class LoggedEvent(NamedTuple):
    """One event as consumers read it (a named tuple: built by the thousand per second)."""

    seq: int
    partition: int
    source_id: str
    message_id: str
    type: str
    name: str | None
    channel: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    received_at: datetime
    status: str
    payload: str

    @property
    def message(self) -> dict[str, Any]:
        return open_payload(self.payload)


class EventLog(Protocol):
    partitions: int

    def append(self, conn: Connection, entries: Sequence[LogEntry]) -> None: ...

    def read(
        self, conn: Connection, partition: int, after: int, limit: int
    ) -> list[LoggedEvent]: ...

    def read_window(
        self,
        conn: Connection,
        partition: int,
        after: int,
        limit: int,
        system_events: frozenset[str] | None = None,
    ) -> tuple[list[LoggedEvent], int]: ...

    def get(self, conn: Connection, seq: int) -> LoggedEvent | None: ...

    def heads(self, conn: Connection) -> dict[int, int]: ...


class OffsetStore(Protocol):
    def ensure(self, conn: Connection, consumer: str, partitions: int) -> None: ...

    def position(self, conn: Connection, consumer: str, partition: int) -> int | None: ...

    def lease(self, conn: Connection, consumer: str, partition: int) -> int | None: ...

    def advance(self, conn: Connection, consumer: str, partition: int, position: int) -> None: ...

    def positions(self, conn: Connection) -> dict[tuple[str, int], int]: ...


_EVENT_COLUMNS = (
    Event.seq,
    Event.partition,
    Event.source_id,
    Event.message_id,
    Event.type,
    Event.name,
    Event.channel,
    Event.user_id,
    Event.anonymous_id,
    Event.timestamp,
    Event.received_at,
    Event.status,
    Event.payload,
)


# The columns an append writes, in the order of its rows (through the driver: the hot path).
_APPEND = BulkInsert(
    Event,
    (
        "partition",
        "source_id",
        "message_id",
        "type",
        "name",
        "channel",
        "user_id",
        "anonymous_id",
        "timestamp",
        "received_at",
        "status",
        "violations",
        "payload",
    ),
)


_READ_SQL: dict[tuple[str, int | None], str] = {}
SKIPPED_SPAN = 4  # a filtered read looks this many times ``limit`` positions ahead


def _mark(dialect: Any) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _read_sql(dialect: Any, names: int | None) -> str:
    """A partition's events after a position: the next ``limit`` of them (``names`` None), or
    those up to a position that are people's events or Kizuna's own events of one of ``names``
    names."""
    sql = _READ_SQL.get((dialect.name, names))
    if sql is None:
        quote, mark = dialect.identifier_preparer.quote, _mark(dialect)
        sql = (
            f"SELECT {', '.join(quote(c.key) for c in _EVENT_COLUMNS)} FROM events "
            f"WHERE {quote('partition')} = {mark} AND seq > {mark} "
        )
        if names is None:
            sql += f"ORDER BY seq LIMIT {mark}"
        else:
            among = f" OR name IN ({', '.join([mark] * names)})" if names else ""
            sql += f"AND seq <= {mark} AND (source_id <> {mark}{among}) ORDER BY seq LIMIT {mark}"
        _READ_SQL[(dialect.name, names)] = sql
    return sql


def _window_end_sql(dialect: Any) -> str:
    """The last of a partition's next ``limit`` positions (read from the index alone)."""
    quote, mark = dialect.identifier_preparer.quote, _mark(dialect)
    return (
        f"SELECT max(seq) FROM (SELECT seq FROM events WHERE {quote('partition')} = {mark} "
        f"AND seq > {mark} ORDER BY seq LIMIT {mark}) AS w"
    )


def _utc_reader(dialect_name: str) -> Any:
    """A raw driver value of a ``UtcDateTime`` column, back to an aware UTC datetime."""
    if dialect_name == "sqlite":
        return lambda text: datetime.fromisoformat(text + "+00:00")
    return lambda value: value.replace(tzinfo=UTC)


def _row_to_event(row: Any) -> LoggedEvent:
    return LoggedEvent(*row)


class SqlEventLog:
    def __init__(self, partitions: int) -> None:
        self.partitions = partitions

    def lock_for_append(self, conn: Connection) -> None:
        """Appends commit in ``seq`` order: PostgreSQL takes a transaction-scoped lock."""
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})

    def append(self, conn: Connection, entries: Sequence[LogEntry]) -> None:
        if not entries:
            return
        at = utc_param(conn.dialect.name)
        received: dict[datetime, Any] = {}  # a request's events share their receivedAt
        for e in entries:
            if e.received_at not in received:
                received[e.received_at] = at(e.received_at)
        _APPEND.run(
            conn,
            [
                (
                    e.partition,
                    e.source_id,
                    e.message_id,
                    e.type,
                    e.name,
                    e.channel,
                    e.user_id,
                    e.anonymous_id,
                    at(e.timestamp),
                    received[e.received_at],
                    e.status,
                    e.violations,
                    e.payload,
                )
                for e in entries
            ],
        )

    def read(self, conn: Connection, partition: int, after: int, limit: int) -> list[LoggedEvent]:
        """The next events of a partition, read through the driver (consumers' hot path)."""
        return self.read_window(conn, partition, after, limit)[0]

    def read_window(
        self,
        conn: Connection,
        partition: int,
        after: int,
        limit: int,
        system_events: frozenset[str] | None = None,
    ) -> tuple[list[LoggedEvent], int]:
        """The next events of a partition, and the last position read (``after`` when there
        was none). ``system_events`` None: the next ``limit`` positions. Otherwise the only
        names of Kizuna's own events to return: the database passes over the others
        (``segment.entered`` can outnumber people's events three to one), so consumers that
        ignore them neither fetch nor decode them, and up to ``limit`` events are returned from
        the next ``limit * SKIPPED_SPAN`` positions."""
        dialect = conn.dialect
        if system_events is None:
            sql = _read_sql(dialect, None)
            rows = conn.exec_driver_sql(sql, (partition, after, limit)).fetchall()
            scanned = int(rows[-1][0]) if rows else after
        else:
            span = (partition, after, limit * SKIPPED_SPAN)
            end = conn.exec_driver_sql(_window_end_sql(dialect), span).scalar()
            if end is None:
                return [], after
            names = sorted(system_events)
            params = (partition, after, int(end), SYSTEM_SOURCE, *names, limit)
            rows = conn.exec_driver_sql(_read_sql(dialect, len(names)), params).fetchall()
            scanned = int(rows[-1][0]) if len(rows) == limit else int(end)
        at = _utc_reader(dialect.name)
        return [
            LoggedEvent._make((*row[:9], at(row[9]), at(row[10]), row[11], row[12])) for row in rows
        ], scanned

    def get(self, conn: Connection, seq: int) -> LoggedEvent | None:
        row = conn.execute(select(*_EVENT_COLUMNS).where(Event.seq == seq)).first()
        return _row_to_event(row) if row else None

    def heads(self, conn: Connection) -> dict[int, int]:
        stmt = select(Event.partition, func.max(Event.seq)).group_by(Event.partition)
        return {int(p): int(s) for p, s in conn.execute(stmt)}

    def head(self, conn: Connection, partition: int) -> int:
        stmt = select(func.max(Event.seq)).where(Event.partition == partition)
        return int(conn.execute(stmt).scalar() or 0)


class SqlOffsetStore:
    """One row per (consumer, partition); ``FOR UPDATE SKIP LOCKED`` shares work on PostgreSQL."""

    def ensure(self, conn: Connection, consumer: str, partitions: int) -> None:
        now = utcnow()
        rows = [
            {"consumer": consumer, "partition": p, "position": 0, "updated_at": now}
            for p in range(partitions)
        ]
        conn.execute(insert_ignore(conn, ConsumerOffset, ["consumer", "partition"]), rows)

    def position(self, conn: Connection, consumer: str, partition: int) -> int | None:
        """The committed offset, without taking the partition (None: no such consumer)."""
        stmt = select(ConsumerOffset.position).where(
            ConsumerOffset.consumer == consumer, ConsumerOffset.partition == partition
        )
        position = conn.execute(stmt).scalar()
        return None if position is None else int(position)

    def lease(self, conn: Connection, consumer: str, partition: int) -> int | None:
        stmt = select(ConsumerOffset.position).where(
            ConsumerOffset.consumer == consumer, ConsumerOffset.partition == partition
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        position = conn.execute(stmt).scalar()
        return None if position is None else int(position)

    def advance(self, conn: Connection, consumer: str, partition: int, position: int) -> None:
        conn.execute(
            update(ConsumerOffset)
            .where(ConsumerOffset.consumer == consumer, ConsumerOffset.partition == partition)
            .values(position=position, updated_at=utcnow())
        )

    def positions(self, conn: Connection) -> dict[tuple[str, int], int]:
        stmt = select(ConsumerOffset.consumer, ConsumerOffset.partition, ConsumerOffset.position)
        return {(c, int(p)): int(pos) for c, p, pos in conn.execute(stmt)}
