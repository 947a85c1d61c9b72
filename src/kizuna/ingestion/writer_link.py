"""One log-writer process for a pool of server processes.

With ``kizuna serve --workers N`` the N server processes parse, authenticate and validate; a
separate log-writer process owns the group commit. Appends are serialised anyway (SQLite has
one writer; PostgreSQL's log takes an advisory lock so positions commit in order), and a writer
that shares its process with an event loop parsing requests holds that lock while it waits for
the GIL after every statement. In its own process the writer holds the lock only for database
work, and it sees every server's requests, so groups are larger.

The link is a Unix socket in the pool's private directory. Frames are a 4-byte length and an
orjson array (data, never code):

- ``["w", id, [entry, ...]]``: append these entries; the answer is
  ``[id, accepted, warned, duplicates, quarantined]`` once committed, or ``[id, "error"]``.
- ``["t", source_id, outcome, count]``: tally an outcome that never reached the log.

An acknowledgement still means "committed": the server process answers its HTTP request only
after the writer's answer arrives. If the writer process dies, pending and new requests get
503 until the pool has restarted it and the link has reconnected; clients resend, and dedup
makes the resend harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import struct
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from functools import partial
from operator import attrgetter
from typing import Any

import orjson

from kizuna.ingestion.rules import LogEntry
from kizuna.ingestion.writer import GroupCommitWriter, StorageUnavailable, WriteResult
from kizuna.metrics import INGESTED

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")
_FIELDS = (
    "source_id",
    "message_id",
    "type",
    "name",
    "channel",
    "user_id",
    "anonymous_id",
    "timestamp",
    "received_at",
    "partition",
    "payload",
    "status",
    "violations",
    "plan_version",
)
_as_row = attrgetter(*_FIELDS)
_TIMESTAMP, _RECEIVED_AT = _FIELDS.index("timestamp"), _FIELDS.index("received_at")
MAX_FRAME = 64 * 1024 * 1024
CONNECT_WAIT_SECONDS = 5.0


def _frame(message: list[Any]) -> bytes:
    body = orjson.dumps(message)
    return _HEADER.pack(len(body)) + body


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes")
    return orjson.loads(await reader.readexactly(size))


def _entry(row: list[Any]) -> LogEntry:
    row[_TIMESTAMP] = datetime.fromisoformat(row[_TIMESTAMP])
    row[_RECEIVED_AT] = datetime.fromisoformat(row[_RECEIVED_AT])
    return LogEntry(*row)


# --- the server side, in the log-writer process ----------------------------------------------


def _answer_from_loop(
    loop: asyncio.AbstractEventLoop,
    answer: Callable[[int, Future[WriteResult]], None],
    request_id: int,
    future: Future[WriteResult],
) -> None:
    """Runs in the writer thread when a group commits: the answer is sent by the event loop."""
    loop.call_soon_threadsafe(answer, request_id, future)


class WriterEndpoint:
    """Accepts server processes' appends on a Unix socket and hands them to the group commit."""

    def __init__(self, writer: GroupCommitWriter, path: str) -> None:
        self.writer = writer
        self.path = path
        self._links: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    async def serve(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        server = await asyncio.start_unix_server(self._serve_client, self.path)
        os.chmod(self.path, 0o600)
        log.info("log writer listening on %s", self.path)
        async with server:
            await stop.wait()
            for stream in list(self._links):  # so server processes notice at once
                stream.close()
            if self._links:
                await asyncio.wait(list(self._links.values()), timeout=5)

    async def _serve_client(
        self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()

        def answer(request_id: int, future: Future[WriteResult]) -> None:
            exc = future.exception()
            if exc is not None:
                reply: list[Any] = [request_id, str(exc) or type(exc).__name__]
            else:
                r = future.result()
                reply = [request_id, r.accepted, r.warned, r.duplicates, r.quarantined]
            if not stream.is_closing():
                stream.write(_frame(reply))

        task = asyncio.current_task()
        assert task is not None
        self._links[stream] = task
        try:
            while True:
                message = await _read_frame(reader)
                if message[0] == "w":
                    request_id = message[1]
                    future = self.writer.submit([_entry(row) for row in message[2]])
                    future.add_done_callback(partial(_answer_from_loop, loop, answer, request_id))
                elif message[0] == "t":
                    _, source_id, outcome, count = message
                    self.writer.remember_tally(source_id, outcome, count)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("bad frame from a server process; closing its link")
        finally:
            self._links.pop(stream, None)
            stream.close()


def run_log_writer(writer: GroupCommitWriter, path: str) -> None:
    """The log-writer process's main loop: until SIGTERM or SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await WriterEndpoint(writer, path).serve(stop)

    writer.start()
    try:
        import uvloop

        uvloop.run(main())
    finally:
        writer.stop()


# --- the client side, in each server process --------------------------------------------------


class RemoteWriter:
    """The log writer as seen from a server process: same interface as ``GroupCommitWriter``."""

    def __init__(self, path: str, on_commit: Callable[[], None] | None = None) -> None:
        self.path = path
        self.on_commit = on_commit
        self._stream: asyncio.StreamWriter | None = None
        self._connected = asyncio.Event()
        self._pending: dict[int, asyncio.Future[WriteResult]] = {}
        self._unsent_tallies: Counter[tuple[str, str]] = Counter()
        self._next_id = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._connected = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._link())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._drop_link("the server is stopping")

    @property
    def running(self) -> bool:
        return self._stream is not None and not self._stream.is_closing()

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        if not self._connected.is_set():
            try:
                await asyncio.wait_for(self._connected.wait(), CONNECT_WAIT_SECONDS)
            except TimeoutError:
                raise StorageUnavailable("the log writer is not reachable") from None
        assert self._stream is not None
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._stream.write(_frame(["w", request_id, [_as_row(e) for e in entries]]))
        result = await future
        if self.on_commit is not None:
            self.on_commit()
        return result

    def tally(self, source_id: str, outcome: str, count: int = 1) -> None:
        INGESTED.labels(source_id, outcome).inc(count)
        self._unsent_tallies[(source_id, outcome)] += count
        self._send_tallies()

    def _send_tallies(self) -> None:
        if not self.running:
            return  # kept until the link is back
        assert self._stream is not None
        for (source_id, outcome), count in self._unsent_tallies.items():
            self._stream.write(_frame(["t", source_id, outcome, count]))
        self._unsent_tallies.clear()

    async def _link(self) -> None:
        """Connect, read answers, and reconnect whenever the writer process goes away."""
        while True:
            try:
                reader, self._stream = await asyncio.open_unix_connection(self.path)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            self._connected.set()
            self._send_tallies()
            try:
                while True:
                    self._answer(await _read_frame(reader))
            except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
                log.warning("link to the log writer lost: %s", exc)
            finally:
                self._drop_link("the log writer went away before committing")

    def _answer(self, reply: list[Any]) -> None:
        future = self._pending.pop(reply[0], None)
        if future is None or future.done():
            return
        if len(reply) == 2:
            future.set_exception(StorageUnavailable(reply[1]))
        else:
            future.set_result(WriteResult(*reply[1:]))

    def _drop_link(self, reason: str) -> None:
        self._connected.clear()
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(StorageUnavailable(reason))
