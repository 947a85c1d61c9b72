"""The retention job on a timer, in the process that runs the consumers."""

from __future__ import annotations

import logging
import threading

from kizuna.config import Settings
from kizuna.db import Database
from kizuna.privacy.retention import enforce

log = logging.getLogger(__name__)


class RetentionScheduler:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kizuna-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run_once(self) -> dict[str, int]:
        with self.db.write() as session:
            counts = enforce(session, self.settings.privacy.retention)
            session.commit()
        if any(counts.values()):
            log.info("retention enforced", extra={"counts": counts})
        return counts

    def _loop(self) -> None:
        interval = max(self.settings.privacy.retention_interval_minutes, 1.0) * 60
        while not self._stop.wait(interval):  # first run one interval after start
            try:
                self.run_once()
            except Exception:
                log.exception("retention run failed; retrying next interval")
