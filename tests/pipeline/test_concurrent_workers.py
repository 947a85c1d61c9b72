"""Two worker processes' runners on one PostgreSQL database share the log without overlap.

Each ``Platform`` is what one ``kizuna worker`` process builds: its own engine and connection
pool, its own runner threads. They share partitions through ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from kizuna.config import Settings
from kizuna.db import Database
from kizuna.runtime import Platform
from tests.pipeline.recording import create_tables, once_consumer
from tests.support import eventually, log_entry, rows, scalar

EVENTS = 3000


@pytest.fixture
def workers(settings: Settings, db: Database) -> Iterator[list[Platform]]:
    create_tables(db)
    pipeline = settings.pipeline.model_copy(update={"batch_size": 50})
    shared = settings.model_copy(update={"pipeline": pipeline})
    platforms = [
        Platform(shared, consumers=[once_consumer("exactly_once", worker=f"worker-{n}")])
        for n in (1, 2)
    ]
    yield platforms
    for platform in platforms:
        platform.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_handle_every_event_exactly_once(
    workers: list[Platform], db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kizuna.pipeline.runner")
    first, _second = workers
    # Given both workers running while events keep arriving through the group-commit writer
    first.writer.start()
    for platform in workers:
        platform.runner.start()
    pending = [
        first.writer.submit(
            [
                log_entry(f"m-{i}", anonymous_id=f"device-{i % 16}")
                for i in range(start, start + 100)
            ]
        )
        for start in range(0, EVENTS, 100)
    ]
    assert sum(f.result(timeout=120).accepted for f in pending) == EVENTS

    # When they have caught up with the log
    eventually(
        lambda: scalar(db, "SELECT count(*) FROM test_handled_once") >= EVENTS,
        timeout=120,
        what="both workers to handle every event",
    )
    eventually(
        lambda: (
            scalar(
                db,
                "SELECT count(*) FROM consumer_offsets o WHERE consumer = 'exactly_once' AND "
                "position < (SELECT coalesce(max(seq), 0) FROM events e "
                "            WHERE e.partition = o.partition)",
            )
            == 0
        ),
        timeout=60,
        what="offsets to reach the heads",
    )
    for platform in workers:
        platform.runner.stop()

    # Then every event was handled once, with no unique violation, retry or dead letter
    assert scalar(db, "SELECT count(*) FROM test_handled_once") == EVENTS
    assert rows(
        db,
        "SELECT count(*) FROM events e LEFT JOIN test_handled_once h ON h.seq = e.seq "
        "WHERE h.seq IS NULL",
    ) == [(0,)]
    assert scalar(db, "SELECT count(*) FROM dead_letters") == 0
    assert [r.getMessage() for r in caplog.records] == []
