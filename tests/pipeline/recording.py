"""A test consumer that writes what it handled into a real table of the test database."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.orm import Session

from kizuna.db import Database
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent

metadata = MetaData()

handled = Table(
    "test_handled",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("message_id", String(128), nullable=False),
)

# One row per event, whoever handles it: a second handling is a unique violation.
handled_once = Table(
    "test_handled_once",
    metadata,
    Column("seq", BigInteger, nullable=False),
    Column("worker", String(32), nullable=False),
    UniqueConstraint("seq", name="uq_test_handled_once_seq"),
)


def create_tables(db: Database) -> None:
    metadata.create_all(db.engine)


@dataclass
class Recorder:
    """Records every event it handles; raises on the messageIds in ``faults`` (while there)."""

    name: str
    faults: set[str] = field(default_factory=set)
    calls: list[list[str]] = field(default_factory=list)

    def handle(self, session: Session, events: Sequence[LoggedEvent]) -> None:
        self.calls.append([e.message_id for e in events])
        conn = session.connection()
        for event in events:
            row = {
                "consumer": self.name,
                "partition": event.partition,
                "seq": event.seq,
                "message_id": event.message_id,
            }
            conn.execute(insert(handled).values(**row))
            if event.message_id in self.faults:
                raise RuntimeError(f"cannot handle {event.message_id}")

    @property
    def consumer(self) -> Consumer:
        return Consumer(name=self.name, handle=self.handle, description="test recorder")

    def attempts_alone(self, message_id: str) -> int:
        return sum(1 for call in self.calls if call == [message_id])


def recorded(db: Database, consumer: str) -> list[tuple[int, int, str]]:
    """``(partition, seq, message_id)`` in the order the consumer committed them."""
    stmt = (
        select(handled.c.partition, handled.c.seq, handled.c.message_id)
        .where(handled.c.consumer == consumer)
        .order_by(handled.c.id)
    )
    with db.engine.connect() as conn:
        return [(int(p), int(s), str(m)) for p, s, m in conn.execute(stmt)]


def once_consumer(name: str, worker: str) -> Consumer:
    def handle(session: Session, events: Sequence[LoggedEvent]) -> None:
        session.connection().execute(
            insert(handled_once), [{"seq": e.seq, "worker": worker} for e in events]
        )

    return Consumer(name=name, handle=handle)


def message_ids(entries: Collection[tuple[int, int, str]]) -> list[str]:
    return [m for _, _, m in entries]
