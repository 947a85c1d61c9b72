"""Reading a window of the log on both backends: Kizuna's own events a consumer ignores are
passed over by the database, and the position read still covers them."""

from __future__ import annotations

from kizuna.db import Database
from kizuna.pipeline.log import SKIPPED_SPAN, SqlEventLog
from kizuna.pipeline.system_events import system_entry
from tests.support import append, log_entry

PARTITIONS = 1


def given_log(db: Database) -> SqlEventLog:
    """Positions 1..12 of one partition: people's events and Kizuna's own, interleaved."""
    log = SqlEventLog(PARTITIONS)
    entries = []
    for i in range(4):
        entries.append(log_entry(f"m-{i}", partitions=PARTITIONS))
        entries.append(system_entry("segment.entered", {"i": i}, PARTITIONS, "segments"))
        entries.append(system_entry("profile.merged", {"i": i}, PARTITIONS, "identity"))
    append(db, log, entries)
    return log


def read(db: Database, log: SqlEventLog, after: int, limit: int, names: frozenset[str] | None):
    with db.read() as session:
        return log.read_window(session.connection(), 0, after, limit, names)


def test_ignored_system_events_are_passed_over_but_read(db: Database) -> None:
    log = given_log(db)
    with db.read() as session:
        first = log.head(session.connection(), 0) - 11

    people, scanned = read(db, log, first - 1, 100, frozenset())
    assert [e.message_id for e in people] == ["m-0", "m-1", "m-2", "m-3"]
    assert scanned == first + 11

    merges, scanned = read(db, log, first - 1, 100, frozenset({"profile.merged"}))
    assert [e.name for e in merges] == ["Order Completed", "profile.merged"] * 4
    assert scanned == first + 11

    everything, _ = read(db, log, first - 1, 100, None)
    assert len(everything) == 12


def test_a_filtered_window_looks_ahead_and_ends_where_it_stopped(db: Database) -> None:
    log = given_log(db)
    with db.read() as session:
        first = log.head(session.connection(), 0) - 11  # m-0; m-1 at first + 3, m-2 at + 6 ...

    # up to 2 events from the next 2 * SKIPPED_SPAN positions: full, so read up to the last
    assert SKIPPED_SPAN == 4
    kept, scanned = read(db, log, first, 2, frozenset())
    assert [e.message_id for e in kept] == ["m-1", "m-2"] and scanned == first + 6
    # fewer than asked for: every position of the span is read
    kept, scanned = read(db, log, scanned, 2, frozenset())
    assert [e.message_id for e in kept] == ["m-3"] and scanned == first + 11
    # nothing kept, the positions passed over still read
    assert read(db, log, first + 9, 1, frozenset()) == ([], first + 11)
    assert read(db, log, first + 11, 5, frozenset()) == ([], first + 11)
    # unfiltered: exactly ``limit`` positions
    unfiltered, scanned = read(db, log, first, 2, None)
    assert len(unfiltered) == 2 and scanned == first + 2
