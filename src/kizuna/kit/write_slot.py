"""One SQLite writer at a time, handed over without SQLite's busy-wait sleeps.

SQLite allows one writing transaction per database file. When the file is busy, SQLite's busy
handler sleeps in steps of up to 100 ms before trying again, which made the group-commit writer
wait long after a consumer's transaction had ended. Writers therefore queue here first: threads
of one process on a lock, processes sharing the file (``kizuna serve --workers N``, ``kizuna
worker``) on an ``flock`` of a file beside the database. Both wake the next writer the moment
the slot is given back.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: threads still queue; processes fall back on busy_timeout
    fcntl = None  # type: ignore[assignment]


class WriteSlot:
    def __init__(self, database_file: Path | None, timeout: float) -> None:
        self.timeout = timeout
        self._threads = threading.Lock()
        self._lock_file = (
            database_file.with_name(database_file.name + ".writer-lock")
            if database_file is not None and fcntl is not None
            else None
        )
        self._fd: int | None = None

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=self.timeout):
            raise TimeoutError(f"no SQLite write slot within {self.timeout} s")
        try:
            if self._lock_file is not None:
                # Opened per hold and closed on release (which drops the lock): no descriptor
                # outlives a transaction, however many databases a process opens.
                self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks outside the GIL
        except BaseException:
            self._close()
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            self._close()
        finally:
            self._threads.release()

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
