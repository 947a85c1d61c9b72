"""The pipeline runner on both backends: order, committed offsets, retries and dead letters.

Runs are driven with ``run_until_idle()`` so every assertion sees a finished, deterministic run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.config import Settings
from kizuna.db import Database
from kizuna.runtime import Platform
from tests.pipeline.recording import Recorder, create_tables, message_ids, recorded
from tests.support import append, log_entry, rows, scalar

EVENTS = [f"m-{i:02d}" for i in range(40)]


@pytest.fixture
def db_with_tables(db: Database) -> Database:
    create_tables(db)
    return db


def platform_for(settings: Settings, *recorders: Recorder) -> Platform:
    return Platform(settings, consumers=[r.consumer for r in recorders])


@pytest.fixture
def stopped() -> Iterator[list[Platform]]:
    """Platforms to stop at the end of the test."""
    platforms: list[Platform] = []
    yield platforms
    for platform in platforms:
        platform.stop()


def given_events(platform: Platform, ids: list[str]) -> None:
    # eight devices, so the events spread over the four partitions
    entries = [log_entry(m, anonymous_id=f"device-{int(m[2:]) % 8}") for m in ids]
    append(platform.db, platform.event_log, entries)


def log_order(db: Database) -> list[tuple[int, int, str]]:
    return [
        (int(p), int(s), str(m))
        for p, s, m in rows(db, "SELECT partition, seq, message_id FROM events ORDER BY seq")
    ]


def offsets(db: Database, consumer: str) -> dict[int, int]:
    found = rows(
        db,
        "SELECT partition, position FROM consumer_offsets WHERE consumer = :c",
        c=consumer,
    )
    return {int(p): int(pos) for p, pos in found}


def test_every_event_is_handled_once(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    recorder = Recorder("recorder")
    platform = platform_for(settings, recorder)
    stopped.append(platform)
    given_events(platform, EVENTS)

    handled = platform.runner.run_until_idle()

    assert handled == 40
    assert sorted(message_ids(recorded(db_with_tables, "recorder"))) == EVENTS


def test_each_partition_is_handled_in_log_order(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    recorder = Recorder("recorder")
    platform = platform_for(settings, recorder)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    seen = recorded(db_with_tables, "recorder")
    logged = log_order(db_with_tables)
    for partition in range(4):
        assert [e for e in seen if e[0] == partition] == [e for e in logged if e[0] == partition]
    assert {e[0] for e in logged} == {0, 1, 2, 3}


def test_offsets_are_committed_at_each_partitions_last_event(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    recorder = Recorder("recorder")
    platform = platform_for(settings, recorder)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    heads = {p: max(s for q, s, _ in log_order(db_with_tables) if q == p) for p in range(4)}
    assert offsets(db_with_tables, "recorder") == heads


def test_a_restarted_runner_resumes_after_its_committed_offsets(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    first = platform_for(settings, Recorder("recorder"))
    stopped.append(first)
    given_events(first, EVENTS[:30])
    first.runner.run_until_idle()
    first.stop()
    stopped.remove(first)
    # When a new process starts on the same database and more events arrive
    second = platform_for(settings, Recorder("recorder"))
    stopped.append(second)
    given_events(second, EVENTS[30:])

    handled = second.runner.run_until_idle()

    assert handled == 10
    assert sorted(message_ids(recorded(db_with_tables, "recorder"))) == EVENTS


def test_an_idle_runner_handles_nothing(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    platform = platform_for(settings, Recorder("recorder"))
    stopped.append(platform)
    given_events(platform, EVENTS)
    platform.runner.run_until_idle()

    assert platform.runner.run_until_idle() == 0


def test_a_failing_event_is_tried_alone_max_attempts_times(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    recorder = Recorder("recorder", faults={"m-17"})
    platform = platform_for(settings, recorder)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    assert recorder.attempts_alone("m-17") == settings.pipeline.max_attempts == 3


def test_a_failing_event_is_dead_lettered(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    recorder = Recorder("recorder", faults={"m-17"})
    platform = platform_for(settings, recorder)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    ((partition, seq),) = [(p, s) for p, s, m in log_order(db_with_tables) if m == "m-17"]
    letters = rows(
        db_with_tables,
        "SELECT consumer, seq, partition, attempts, status, error FROM dead_letters",
    )
    assert letters == [("recorder", seq, partition, 3, "open", "RuntimeError: cannot handle m-17")]


def test_events_after_a_dead_letter_are_still_handled_exactly_once(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    # Given a fault in the middle of one partition: the batch around it fails as a whole first,
    # so its earlier writes must have been rolled back before the events are retried one by one
    recorder = Recorder("recorder", faults={"m-17"})
    platform = platform_for(settings, recorder)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    assert sorted(message_ids(recorded(db_with_tables, "recorder"))) == [
        m for m in EVENTS if m != "m-17"
    ]
    heads = {p: max(s for q, s, _ in log_order(db_with_tables) if q == p) for p in range(4)}
    assert offsets(db_with_tables, "recorder") == heads


def test_offsets_are_kept_per_consumer(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    first, second = Recorder("first"), Recorder("second")
    platform = platform_for(settings, first, second)
    stopped.append(platform)
    platform.runner.prepare()
    given_events(platform, EVENTS)

    while platform.runner.run_once(first.consumer):
        pass

    assert sorted(message_ids(recorded(db_with_tables, "first"))) == EVENTS
    assert recorded(db_with_tables, "second") == []
    assert offsets(db_with_tables, "second") == {0: 0, 1: 0, 2: 0, 3: 0}


def test_a_lagging_consumer_catches_up_on_its_own(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    first, second = Recorder("first"), Recorder("second")
    platform = platform_for(settings, first, second)
    stopped.append(platform)
    platform.runner.prepare()
    given_events(platform, EVENTS)
    while platform.runner.run_once(first.consumer):
        pass

    handled = platform.runner.run_until_idle()

    assert handled == 40
    assert sorted(message_ids(recorded(db_with_tables, "second"))) == EVENTS
    assert len(recorded(db_with_tables, "first")) == 40


def test_one_consumers_dead_letter_does_not_hold_back_another(
    settings: Settings, db_with_tables: Database, stopped: list[Platform]
) -> None:
    failing, healthy = Recorder("failing", faults={"m-05"}), Recorder("healthy")
    platform = platform_for(settings, failing, healthy)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    assert sorted(message_ids(recorded(db_with_tables, "healthy"))) == EVENTS
    assert rows(db_with_tables, "SELECT consumer FROM dead_letters") == [("failing",)]


def test_the_default_consumer_projects_channel_activity(
    settings: Settings, db: Database, stopped: list[Platform]
) -> None:
    platform = Platform(settings)
    stopped.append(platform)
    given_events(platform, EVENTS)

    platform.runner.run_until_idle()

    assert scalar(db, "SELECT sum(count) FROM channel_activity WHERE channel = 'web'") == 40
