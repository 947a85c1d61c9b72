"""The link between a pool's server processes and its log writer, over a real Unix socket."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kizuna.config import Settings
from kizuna.ingestion.writer import StorageUnavailable, WriteResult
from kizuna.ingestion.writer_link import RemoteWriter, WriterEndpoint
from kizuna.runtime import Platform
from tests.support import log_entry, rows, scalar

T = TypeVar("T")


class Endpoint:
    """A log writer's endpoint on its own event loop thread, as in the log-writer process."""

    def __init__(self, platform: Platform, path: str) -> None:
        self.platform = platform
        self.path = path
        self.loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        endpoint = WriterEndpoint(self.platform.group_commit_writer(on_commit=None), self.path)
        endpoint.writer.start()
        try:
            self.loop.run_until_complete(endpoint.serve(self._stop))
        finally:
            endpoint.writer.stop()
            self.loop.close()

    def start(self) -> Endpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = Platform(settings, consumers=[])
    yield platform
    platform.stop()


@pytest.fixture
def link(tmp_path: Path) -> str:
    return str(tmp_path / "writer.sock")


def run(scenario: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the console tests' browser keeps a loop running
    in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, scenario).result(timeout=120)


def logged(platform: Platform) -> list[str]:
    return [r[0] for r in rows(platform.db, "SELECT message_id FROM events ORDER BY seq")]


def test_a_remote_write_is_answered_after_it_is_committed(platform: Platform, link: str) -> None:
    # Given a log writer and a server process's link to it
    endpoint = Endpoint(platform, link).start()
    commits: list[int] = []

    async def scenario() -> tuple[WriteResult, WriteResult]:
        remote = RemoteWriter(link, on_commit=lambda: commits.append(len(logged(platform))))
        remote.start()
        try:
            # When two requests append, the second repeating one of the first's events
            first = await remote.write([log_entry("m-1"), log_entry("m-2")])
            second = await remote.write([log_entry("m-2"), log_entry("m-3")])
            return first, second
        finally:
            remote.stop()

    try:
        first, second = run(scenario())
    finally:
        endpoint.stop()

    # Then each answer counts what was committed, the duplicate was stored once, and every
    # answer came after its events were in the log
    assert first == WriteResult(accepted=2)
    assert second == WriteResult(accepted=1, duplicates=1)
    assert logged(platform) == ["m-1", "m-2", "m-3"]
    assert commits == [2, 3]


def test_tallies_sent_before_the_link_is_up_are_kept_and_delivered(
    platform: Platform, link: str
) -> None:
    async def scenario() -> None:
        remote = RemoteWriter(link)
        remote.start()
        # Given tallies recorded while no log writer is listening
        remote.tally("src_test", "rejected", 2)
        remote.tally("src_test", "rejected", 1)
        # When the log writer comes up and the link connects, then a write goes through
        endpoint = Endpoint(platform, link).start()
        try:
            await remote.write([log_entry("m-1")])
        finally:
            remote.stop()
            endpoint.stop()

    run(scenario())

    # Then every tally reached the database once
    assert (
        scalar(
            platform.db,
            "SELECT count FROM ingest_tallies WHERE source_id = :s AND outcome = 'rejected'",
            s="src_test",
        )
        == 3
    )


def test_without_a_log_writer_a_write_fails_as_storage_unavailable(link: str) -> None:
    async def scenario() -> None:
        remote = RemoteWriter(link)
        remote.start()
        try:
            await remote.write([log_entry("m-1")])
        finally:
            remote.stop()

    with pytest.raises(StorageUnavailable):
        run(scenario())


def test_the_link_reconnects_when_the_log_writer_comes_back(platform: Platform, link: str) -> None:
    async def scenario() -> tuple[WriteResult, bool, WriteResult]:
        remote = RemoteWriter(link)
        remote.start()
        try:
            # Given a link whose log writer stops after one write
            endpoint = Endpoint(platform, link).start()
            first = await remote.write([log_entry("m-1")])
            endpoint.stop()
            for _ in range(200):  # the link notices the closed socket (bounded wait)
                if not remote.running:
                    break
                await asyncio.sleep(0.05)
            down = remote.running
            # When a new log writer listens on the same path
            endpoint = Endpoint(platform, link).start()
            try:
                # Then the next write reconnects and commits, and a resend is a duplicate
                again = await remote.write([log_entry("m-1"), log_entry("m-2")])
            finally:
                endpoint.stop()
            return first, down, again
        finally:
            remote.stop()

    first, down, again = run(scenario())

    assert first == WriteResult(accepted=1)
    assert down is False
    assert again == WriteResult(accepted=1, duplicates=1)
    assert logged(platform) == ["m-1", "m-2"]
