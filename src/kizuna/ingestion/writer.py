"""Group commit: many requests share one durable transaction.

Request handlers hand their validated entries to ``GroupCommitWriter.write`` and wait. One
thread drains everything queued, runs a single transaction (dedup, append, quarantine, tallies)
and only after the commit returns resolves every waiting request. An acknowledgement therefore
always means "committed", and the cost of the commit (an fsync) is shared by the whole group.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.engine import Connection

from kizuna.db import Database
from kizuna.ingestion.rules import LogEntry
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import BulkInsert, chunks, upsert_add, utc_param
from kizuna.metrics import COMMIT_SECONDS, GROUP_EVENTS, INGESTED
from kizuna.models import DedupKey, IngestTally, QuarantinedEvent
from kizuna.pipeline.log import SqlEventLog

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 600.0
_DEDUP_KEYS = BulkInsert(DedupKey, ("source_id", "message_id", "seen_at"))


@dataclass(frozen=True, slots=True)
class WriteResult:
    accepted: int = 0
    warned: int = 0
    duplicates: int = 0
    quarantined: int = 0


class StorageUnavailable(RuntimeError):
    pass


class LogWriter(Protocol):
    """What the collector needs: this process's ``GroupCommitWriter`` or a link to the pool's
    log-writer process (``kizuna.ingestion.writer_link.RemoteWriter``)."""

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult: ...

    def tally(self, source_id: str, outcome: str, count: int = 1) -> None: ...


@dataclass(slots=True)
class _Job:
    entries: Sequence[LogEntry]
    future: Future[WriteResult] = field(default_factory=Future)


class GroupCommitWriter:
    def __init__(
        self,
        db: Database,
        log_: SqlEventLog,
        *,
        dedup_window: timedelta,
        max_group_events: int = 10_000,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.log = log_
        self.dedup_window = dedup_window
        self.max_group_events = max_group_events
        self.on_commit = on_commit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._tallies: Counter[tuple[str, str]] = Counter()
        self._tally_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self._stopping = False

    # --- public API -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="kizuna-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, entries: Sequence[LogEntry]) -> Future[WriteResult]:
        job = _Job(entries)
        if not self.running:
            job.future.set_exception(StorageUnavailable("the writer is not running"))
            return job.future
        self._queue.put(job)
        return job.future

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        return await asyncio.wrap_future(self.submit(entries))

    def tally(self, source_id: str, outcome: str, count: int = 1) -> None:
        """Count an outcome that never reaches the log (a rejection); flushed with a group."""
        INGESTED.labels(source_id, outcome).inc(count)
        self.remember_tally(source_id, outcome, count)

    def remember_tally(self, source_id: str, outcome: str, count: int) -> None:
        """Keep a tally for the next commit (the metric was counted where it happened)."""
        with self._tally_lock:
            self._tallies[(source_id, outcome)] += count

    # --- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=1.0)
            except queue.Empty:
                self._idle()
                continue
            if first is None:
                self._idle()
                return
            self._commit_group([first])
            if self._stopping:
                self._idle()
                return

    def _drain(self, jobs: list[_Job]) -> None:
        """Add every request queued so far to ``jobs`` (up to the group limit).

        Called once the group holds the append lock: requests that arrived while it waited for
        the lock (another process's group commit) join this group instead of the next.
        """
        size = sum(len(job.entries) for job in jobs)
        while size < self.max_group_events:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is None:
                self._stopping = True
                return
            jobs.append(job)
            size += len(job.entries)

    def _idle(self) -> None:
        try:
            with self._tally_lock:
                pending = bool(self._tallies)
            if pending:
                with self.db.engine.begin() as conn:
                    self._flush_tallies(conn, Counter())
            if time.monotonic() - self._last_prune > PRUNE_EVERY_SECONDS:
                self.prune_dedup_keys()
        except Exception:  # keep the writer alive; the next round retries
            log.exception("writer housekeeping failed")

    def prune_dedup_keys(self) -> int:
        self._last_prune = time.monotonic()
        cutoff = utcnow() - self.dedup_window
        with self.db.engine.begin() as conn:
            result = conn.execute(delete(DedupKey).where(DedupKey.seen_at < cutoff))
            return int(result.rowcount or 0)

    def _commit_group(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            results = self._transaction(jobs, drain=True)
        except Exception:
            log.exception("group commit failed; retrying its requests one by one")
            results = None
        if results is None:
            for job in jobs:
                try:
                    (single,) = self._transaction([job])
                    job.future.set_result(single)
                except Exception as exc:
                    job.future.set_exception(StorageUnavailable(str(exc)))
        else:
            for job, result in zip(jobs, results, strict=True):
                job.future.set_result(result)
        COMMIT_SECONDS.observe(time.perf_counter() - started)
        GROUP_EVENTS.observe(sum(len(j.entries) for j in jobs))
        if self.on_commit is not None:
            self.on_commit()

    def _transaction(self, jobs: list[_Job], drain: bool = False) -> list[WriteResult]:
        with self.db.engine.begin() as conn:  # on SQLite, holds the write slot from here
            at = utc_param(conn.dialect.name)
            self.log.lock_for_append(conn)
            if drain:
                self._drain(jobs)
            now = utcnow()
            seen = self._recent_keys(conn, jobs, now - self.dedup_window)
            seen_param = at(now)
            fresh_keys: list[tuple[str, str, object]] = []
            expired_keys: list[dict[str, object]] = []
            to_log: list[LogEntry] = []
            to_quarantine: list[LogEntry] = []
            outcomes: Counter[tuple[str, str]] = Counter()
            results = []
            for job in jobs:
                counts: Counter[str] = Counter()
                for entry in job.entries:
                    key = (entry.source_id, entry.message_id)
                    state = seen.get(key)
                    if state == "recent":
                        counts["duplicate"] += 1
                        continue
                    if state == "expired":
                        expired_keys.append(
                            {
                                "k_source": entry.source_id,
                                "k_message": entry.message_id,
                                "seen_at": now,
                            }
                        )
                    else:
                        fresh_keys.append((entry.source_id, entry.message_id, seen_param))
                    seen[key] = "recent"
                    if entry.status == "quarantine":
                        to_quarantine.append(entry)
                        counts["quarantined"] += 1
                    else:
                        to_log.append(entry)
                        counts["warned" if entry.status == "warned" else "accepted"] += 1
                for outcome, n in counts.items():
                    outcomes[(job.entries[0].source_id, outcome)] += n
                results.append(
                    WriteResult(
                        accepted=counts["accepted"],
                        warned=counts["warned"],
                        duplicates=counts["duplicate"],
                        quarantined=counts["quarantined"],
                    )
                )
            _DEDUP_KEYS.run(conn, fresh_keys)
            if expired_keys:
                conn.execute(
                    update(DedupKey)
                    .where(
                        DedupKey.source_id == bindparam("k_source"),
                        DedupKey.message_id == bindparam("k_message"),
                    )
                    .values(seen_at=bindparam("seen_at")),
                    expired_keys,
                )
            self.log.append(conn, to_log)
            self._quarantine(conn, to_quarantine)
            self._flush_tallies(conn, outcomes)
        for (source_id, outcome), n in outcomes.items():
            INGESTED.labels(source_id, outcome).inc(n)
        return results

    @staticmethod
    def _recent_keys(
        conn: Connection, jobs: list[_Job], cutoff: datetime
    ) -> dict[tuple[str, str], str]:
        by_source: dict[str, set[str]] = {}
        for job in jobs:
            for entry in job.entries:
                by_source.setdefault(entry.source_id, set()).add(entry.message_id)
        seen: dict[tuple[str, str], str] = {}
        since = utc_param(conn.dialect.name)(cutoff)  # compared in the driver's own terms
        for source_id, ids in by_source.items():
            for message_id, seen_at in _seen_keys(conn, source_id, sorted(ids)):
                recent = seen_at >= since
                seen[(source_id, message_id)] = "recent" if recent else "expired"
        return seen

    @staticmethod
    def _quarantine(conn: Connection, entries: list[LogEntry]) -> None:
        if not entries:
            return
        conn.execute(
            insert(QuarantinedEvent),
            [
                {
                    "source_id": e.source_id,
                    "message_id": e.message_id,
                    "type": e.type,
                    "name": e.name,
                    "received_at": e.received_at,
                    "plan_version": e.plan_version,
                    "violations": e.violations or "[]",
                    "payload": e.payload,
                    "status": "held",
                }
                for e in entries
            ],
        )

    def _flush_tallies(self, conn: Connection, outcomes: Counter[tuple[str, str]]) -> None:
        with self._tally_lock:
            pending, self._tallies = self._tallies, Counter()
        merged = outcomes + pending
        if not merged:
            return
        day = utcnow().date()
        rows = [
            {"source_id": s, "day": day, "outcome": o, "count": n}
            for (s, o), n in sorted(merged.items())
        ]
        try:
            upsert_add(conn, IngestTally, ["source_id", "day", "outcome"], rows)
        except Exception:
            with self._tally_lock:
                self._tallies.update(pending)
            raise


def _seen_keys(conn: Connection, source_id: str, ids: list[str]) -> list[tuple[str, Any]]:
    """``(message_id, seen_at)`` of the ids already remembered, through the driver (hot path).

    ``seen_at`` comes back raw: SQLite's DATETIME text, PostgreSQL's naive UTC datetime.
    """
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT message_id, seen_at FROM dedup_keys "
            "WHERE source_id = %s AND message_id = ANY(%b::varchar[])"
        )
        return [tuple(r) for r in conn.exec_driver_sql(sql, (source_id, ids))]
    found: list[tuple[str, Any]] = []
    for part in chunks(ids, 900):
        marks = ", ".join("?" * len(part))
        sql = (
            "SELECT message_id, seen_at FROM dedup_keys "
            f"WHERE source_id = ? AND message_id IN ({marks})"
        )
        found += [(r[0], r[1]) for r in conn.exec_driver_sql(sql, (source_id, *part))]
    return found
