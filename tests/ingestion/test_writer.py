"""Group commit on both backends: durable acknowledgements, dedup, quarantine and tallies."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from kizuna.config import Settings
from kizuna.db import Database
from kizuna.ingestion.rules import LogEntry
from kizuna.ingestion.writer import GroupCommitWriter, StorageUnavailable, WriteResult
from kizuna.kit.clock import utcnow
from kizuna.pipeline.log import SqlEventLog
from kizuna.runtime import Platform
from tests.support import log_entry, rows, scalar

WINDOW = timedelta(days=7)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = Platform(settings, consumers=[])
    platform.writer.start()
    yield platform
    platform.stop()


def write(writer: GroupCommitWriter, entries: list[LogEntry]) -> WriteResult:
    return writer.submit(entries).result(timeout=60)


def logged_ids(db: Database, source_id: str = "src_test") -> list[str]:
    return [
        r[0]
        for r in rows(
            db, "SELECT message_id FROM events WHERE source_id = :s ORDER BY seq", s=source_id
        )
    ]


def tally(db: Database, source_id: str, outcome: str) -> int | None:
    return scalar(
        db,
        "SELECT count FROM ingest_tallies WHERE source_id = :s AND outcome = :o",
        s=source_id,
        o=outcome,
    )


def test_an_acknowledged_write_is_in_the_log_in_order(platform: Platform) -> None:
    result = write(platform.writer, [log_entry("m-1"), log_entry("m-2"), log_entry("m-3")])

    assert result == WriteResult(accepted=3)
    assert logged_ids(platform.db) == ["m-1", "m-2", "m-3"]


def test_a_duplicate_within_one_request_is_stored_once(platform: Platform) -> None:
    result = write(platform.writer, [log_entry("m-1"), log_entry("m-1")])

    assert result == WriteResult(accepted=1, duplicates=1)
    assert logged_ids(platform.db) == ["m-1"]


class HeldWriter:
    """A writer held inside its first group's commit hook until ``release()``.

    Requests submitted meanwhile queue up and are then committed together as one group.
    """

    def __init__(self, db: Database) -> None:
        self._first_committed = threading.Event()
        self._release = threading.Event()
        self.writer = GroupCommitWriter(
            db, SqlEventLog(4), dedup_window=WINDOW, on_commit=self._hold_first_group
        )

    def _hold_first_group(self) -> None:
        if not self._first_committed.is_set():
            self._first_committed.set()
            self._release.wait(30)

    def __enter__(self) -> GroupCommitWriter:
        self.writer.start()
        self.writer.submit([log_entry("m-0")]).result(timeout=60)
        assert self._first_committed.wait(30)
        return self.writer

    def release(self) -> None:
        self._release.set()

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self.writer.stop()


def test_a_duplicate_in_the_same_group_is_stored_once(db: Database) -> None:
    held = HeldWriter(db)
    with held as writer:
        pending = [writer.submit([log_entry("m-1")]), writer.submit([log_entry("m-1")])]
        held.release()
        results = [f.result(timeout=60) for f in pending]

    assert results == [WriteResult(accepted=1), WriteResult(duplicates=1)]
    assert logged_ids(db) == ["m-0", "m-1"]


def test_a_duplicate_in_a_later_group_is_stored_once(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-1")])

    result = write(platform.writer, [log_entry("m-1"), log_entry("m-2")])

    assert result == WriteResult(accepted=1, duplicates=1)
    assert logged_ids(platform.db) == ["m-1", "m-2"]


def test_sources_do_not_deduplicate_each_other(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-1", source_id="src_web")])

    result = write(platform.writer, [log_entry("m-1", source_id="src_app")])

    assert result == WriteResult(accepted=1)
    assert (logged_ids(platform.db, "src_web"), logged_ids(platform.db, "src_app")) == (
        ["m-1"],
        ["m-1"],
    )


def age_dedup_keys(db: Database, by: timedelta) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE dedup_keys SET seen_at = :t"), {"t": naive_utc(utcnow() - by)})


def naive_utc(moment: datetime) -> datetime:
    """How ``UtcDateTime`` stores a moment; plain ``text()`` SQL bypasses the column type."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_a_message_id_is_accepted_again_after_the_dedup_window(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-1")])
    age_dedup_keys(platform.db, WINDOW + timedelta(hours=1))

    result = write(platform.writer, [log_entry("m-1")])

    assert result == WriteResult(accepted=1)
    assert logged_ids(platform.db) == ["m-1", "m-1"]


def test_a_message_id_accepted_again_opens_a_new_window(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-1")])
    age_dedup_keys(platform.db, WINDOW + timedelta(hours=1))
    write(platform.writer, [log_entry("m-1")])

    result = write(platform.writer, [log_entry("m-1")])

    assert result == WriteResult(duplicates=1)
    assert scalar(platform.db, "SELECT count(*) FROM dedup_keys") == 1


def test_a_message_id_inside_the_window_is_still_a_duplicate(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-1")])
    age_dedup_keys(platform.db, WINDOW - timedelta(hours=1))

    assert write(platform.writer, [log_entry("m-1")]) == WriteResult(duplicates=1)


def test_a_short_window_expires_keys_sooner(settings: Settings, db: Database) -> None:
    writer = GroupCommitWriter(db, SqlEventLog(4), dedup_window=timedelta(seconds=30))
    writer.start()
    try:
        write(writer, [log_entry("m-1")])
        age_dedup_keys(db, timedelta(seconds=31))
        result = write(writer, [log_entry("m-1")])
    finally:
        writer.stop()

    assert result == WriteResult(accepted=1)


def test_pruning_removes_only_expired_keys(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-old")])
    age_dedup_keys(platform.db, WINDOW + timedelta(days=1))
    write(platform.writer, [log_entry("m-new")])

    removed = platform.writer.prune_dedup_keys()

    assert removed == 1
    assert rows(platform.db, "SELECT message_id FROM dedup_keys") == [("m-new",)]


def test_duplicates_are_counted_in_the_tallies(platform: Platform) -> None:
    for _ in range(3):
        write(platform.writer, [log_entry("m-1")])

    counts = (
        tally(platform.db, "src_test", "accepted"),
        tally(platform.db, "src_test", "duplicate"),
    )
    assert counts == (1, 2)


def test_a_tallied_rejection_is_stored_with_the_next_group(platform: Platform) -> None:
    platform.writer.tally("src_test", "rejected", 2)

    write(platform.writer, [log_entry("m-1")])

    assert tally(platform.db, "src_test", "rejected") == 2


def test_a_quarantined_entry_is_held_aside_not_logged(platform: Platform) -> None:
    result = write(platform.writer, [log_entry("m-q", status="quarantine")])

    assert result == WriteResult(quarantined=1)
    assert logged_ids(platform.db) == []
    assert rows(
        platform.db, "SELECT message_id, status, plan_version, violations FROM quarantined_events"
    ) == [("m-q", "held", 1, '[{"path": "event", "keyword": "unplanned", "message": "x"}]')]
    assert tally(platform.db, "src_test", "quarantined") == 1


def test_a_quarantined_message_id_is_deduplicated(platform: Platform) -> None:
    write(platform.writer, [log_entry("m-q", status="quarantine")])

    result = write(platform.writer, [log_entry("m-q")])

    assert result == WriteResult(duplicates=1)
    assert logged_ids(platform.db) == []
    assert scalar(platform.db, "SELECT count(*) FROM quarantined_events") == 1


def test_a_warned_entry_is_logged_and_counted_as_warned(platform: Platform) -> None:
    result = write(platform.writer, [log_entry("m-w", status="warned")])

    assert result == WriteResult(warned=1)
    assert rows(platform.db, "SELECT message_id, status FROM events") == [("m-w", "warned")]


def test_concurrent_submits_of_overlapping_ids_land_exactly_once(platform: Platform) -> None:
    # Given 8 threads each sending the same 200 messageIds in their own order and batching
    ids = [f"m-{i}" for i in range(200)]
    results: list[WriteResult] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        mine = ids[:]
        random.Random(seed).shuffle(mine)
        try:
            for start in range(0, len(mine), 20):
                result = write(platform.writer, [log_entry(m) for m in mine[start : start + 20]])
                with lock:
                    results.append(result)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert sorted(logged_ids(platform.db)) == sorted(ids)
    assert (sum(r.accepted for r in results), sum(r.duplicates for r in results)) == (200, 1400)


def test_a_stopped_writer_refuses_to_acknowledge(settings: Settings, db: Database) -> None:
    writer = GroupCommitWriter(db, SqlEventLog(4), dedup_window=WINDOW)

    future = writer.submit([log_entry("m-1")])

    with pytest.raises(StorageUnavailable):
        future.result(timeout=5)
    assert logged_ids(db) == []


def unstorable(message_id: str) -> LogEntry:
    """An entry both databases refuse (``events.type`` is NOT NULL)."""
    entry = log_entry(message_id)
    entry.type = None  # type: ignore[assignment]
    return entry


def test_a_refused_request_fails_alone_and_its_group_is_committed(db: Database) -> None:
    held = HeldWriter(db)
    with held as writer:
        pending = [writer.submit([log_entry("m-1")]), writer.submit([unstorable("m-bad")])]
        held.release()
        good, bad = pending

        assert good.result(timeout=60) == WriteResult(accepted=1)
        with pytest.raises(StorageUnavailable):
            bad.result(timeout=60)
    assert logged_ids(db) == ["m-0", "m-1"]


def test_a_refused_request_leaves_no_dedup_key_so_its_retry_is_stored(
    platform: Platform,
) -> None:
    with pytest.raises(StorageUnavailable):
        write(platform.writer, [unstorable("m-1")])

    result = write(platform.writer, [log_entry("m-1")])

    assert result == WriteResult(accepted=1)
    assert logged_ids(platform.db) == ["m-1"]
