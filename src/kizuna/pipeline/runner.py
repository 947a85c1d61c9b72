"""Runs consumers over the log: in order per partition, retries with backoff, dead letters.

Each consumer gets a thread that walks the partitions. For each partition it leases the offset
row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several ``kizuna worker`` processes share
partitions without ever handling one event twice), reads the next batch after the offset,
handles it and advances the offset in the same transaction.

A failing batch is replayed one event at a time; a failing event is retried with exponential
backoff and, after ``max_attempts``, set aside in ``dead_letters`` so the partition moves on.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from kizuna.config import PipelineSettings
from kizuna.db import Database
from kizuna.kit.clock import utcnow
from kizuna.metrics import DEAD_LETTERED, FAILURES, PREPARED, PROCESSED
from kizuna.models import DeadLetter
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent, SqlEventLog, SqlOffsetStore

log = logging.getLogger(__name__)


class PipelineRunner:
    def __init__(
        self,
        db: Database,
        event_log: SqlEventLog,
        offsets: SqlOffsetStore,
        consumers: Sequence[Consumer],
        settings: PipelineSettings,
        deployed: Sequence[str] = (),
    ) -> None:
        """``deployed``: every consumer of the deployment, these processes' and others' (by
        default the ones given): a consumer waits for those it follows among them."""
        self.db = db
        self.log = event_log
        self.offsets = offsets
        self.consumers = list(consumers)
        self._names = set(deployed) | {c.name for c in self.consumers}
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle --------------------------------------------------------------------------

    def prepare(self) -> None:
        # Offsets of the whole deployment: a consumer started before the ones it follows must
        # find them at zero, not absent (absent ones are not waited for).
        with self.db.write() as session:
            for name in sorted(self._names):
                self.offsets.ensure(session.connection(), name, self.log.partitions)
            session.commit()

    def start(self) -> None:
        self.prepare()
        self._stop.clear()
        for consumer in self.consumers:
            thread = threading.Thread(
                target=self._loop,
                args=(consumer,),
                name=f"kizuna-consumer-{consumer.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def wake(self) -> None:
        """Called after each ingestion commit so in-process consumers react at once."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def _loop(self, consumer: Consumer) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                handled = self.run_once(consumer)
            except Exception:
                log.exception("consumer %s crashed a round; retrying", consumer.name)
                handled = 0
            if consumer.tick is not None and time.monotonic() >= next_tick:
                handled += self._tick(consumer)
                next_tick = time.monotonic() + self.settings.tick_seconds
            if handled == 0:
                self._wake.wait(self.settings.idle_poll_seconds)
                self._wake.clear()

    def _tick(self, consumer: Consumer) -> int:
        assert consumer.tick is not None
        try:
            return consumer.tick(self.db)
        except Exception:
            log.exception("consumer %s failed a tick; trying again later", consumer.name)
            return 0

    # --- one round --------------------------------------------------------------------------

    def run_once(self, consumer: Consumer) -> int:
        """Handle at most one batch per partition; returns how many events were handled."""
        return sum(self._drain(consumer, p) for p in range(self.log.partitions))

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Process everything currently in the log (tests and the CLI use this)."""
        self.prepare()  # without offset rows ``lease`` finds nothing and nothing would run
        total = 0
        for _ in range(max_rounds):
            handled = sum(self.run_once(c) for c in self.consumers)
            handled += sum(self._tick(c) for c in self.consumers if c.tick is not None)
            total += handled
            if handled == 0:
                break
        return total

    def _drain(self, consumer: Consumer, partition: int) -> int:
        # Read before taking the write transaction: on SQLite it is the one write slot that
        # ingestion's group commit also needs, so it is held for the handling alone.
        with self.db.read() as session:
            conn = session.connection()
            position = self.offsets.position(conn, consumer.name, partition)
            if position is None:
                return 0
            events, scanned = self.log.read_window(
                conn, partition, position, self.settings.batch_size, consumer.system_events
            )
            if scanned > position and consumer.follows:
                upto = self._followed_upto(conn, consumer, partition)
                events = [e for e in events if e.seq <= upto]
                scanned = min(scanned, upto)
            prepared = self._prepare(consumer, session, events)
        if scanned <= position:
            return 0
        with self.db.write() as session:
            conn = session.connection()
            if self.offsets.lease(conn, consumer.name, partition) != position:
                session.rollback()  # another worker holds or moved this partition
                return 0
            if not events:  # only Kizuna's own events this consumer passes over
                self.offsets.advance(conn, consumer.name, partition, scanned)
                session.commit()
                return 0
            try:
                with session.begin_nested():
                    if prepared is None or not self._apply(consumer, prepared, session):
                        consumer.handle(session, events)
                self.offsets.advance(conn, consumer.name, partition, scanned)
                session.commit()
            except Exception:
                session.rollback()
                if len(events) == 1:
                    FAILURES.labels(consumer.name).inc()
                return self._one_by_one(consumer, partition, events)
        PROCESSED.labels(consumer.name).inc(len(events))
        return len(events)

    def _prepare(
        self, consumer: Consumer, session: Session, events: list[LoggedEvent]
    ) -> Callable[[Session], bool] | None:
        if not events or consumer.prepare is None:
            return None
        try:
            return consumer.prepare(session, events)
        except Exception:  # handled again (with retries) inside the write transaction
            log.warning("consumer %s could not prepare a batch", consumer.name, exc_info=True)
            PREPARED.labels(consumer.name, "failed").inc()
            return None

    def _apply(
        self, consumer: Consumer, prepared: Callable[[Session], bool], session: Session
    ) -> bool:
        applied = prepared(session)
        PREPARED.labels(consumer.name, "written" if applied else "stale").inc()
        return applied

    def _followed_upto(self, conn: Connection, consumer: Consumer, partition: int) -> int:
        """How far every consumer this one follows has got on a partition (those not running
        in this deployment are not waited for)."""
        upto: int | None = None
        for name in consumer.follows:
            position = self.offsets.position(conn, name, partition)
            if position is not None and name in self._names:
                upto = position if upto is None else min(upto, position)
        return upto if upto is not None else 2**62

    def _one_by_one(self, consumer: Consumer, partition: int, events: list[LoggedEvent]) -> int:
        handled = 0
        for event in events:
            if self._stop.is_set():
                break
            if not self._handle_with_retries(consumer, partition, event):
                break
            handled += 1
        return handled

    def _handle_with_retries(self, consumer: Consumer, partition: int, event: LoggedEvent) -> bool:
        error = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            with self.db.write() as session:
                conn = session.connection()
                position = self.offsets.lease(conn, consumer.name, partition)
                if position is None or position >= event.seq:
                    return False  # another worker holds or passed this partition
                try:
                    with session.begin_nested():
                        consumer.handle(session, [event])
                    self.offsets.advance(conn, consumer.name, partition, event.seq)
                    session.commit()
                    PROCESSED.labels(consumer.name).inc()
                    return True
                except Exception as exc:
                    session.rollback()
                    FAILURES.labels(consumer.name).inc()
                    error = "".join(traceback.format_exception_only(exc)).strip()
                    log.warning(
                        "consumer %s failed on seq %s (attempt %s): %s",
                        consumer.name,
                        event.seq,
                        attempt,
                        error,
                    )
            if attempt < self.settings.max_attempts:
                delay = min(
                    self.settings.backoff_seconds * 2 ** (attempt - 1),
                    self.settings.backoff_max_seconds,
                )
                if self._stop.wait(delay):
                    return False
        return self._dead_letter(consumer, partition, event, error)

    def _dead_letter(
        self, consumer: Consumer, partition: int, event: LoggedEvent, error: str
    ) -> bool:
        with self.db.write() as session:
            conn = session.connection()
            position = self.offsets.lease(conn, consumer.name, partition)
            if position is None or position >= event.seq:
                return False
            conn.execute(
                insert(DeadLetter).values(
                    consumer=consumer.name,
                    seq=event.seq,
                    partition=partition,
                    attempts=self.settings.max_attempts,
                    error=error[:4000],
                    failed_at=utcnow(),
                    status="open",
                )
            )
            self.offsets.advance(conn, consumer.name, partition, event.seq)
            session.commit()
        DEAD_LETTERED.labels(consumer.name).inc()
        log.error("consumer %s dead-lettered seq %s: %s", consumer.name, event.seq, error)
        return True
