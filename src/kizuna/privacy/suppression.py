"""The suppression list: identifiers whose events are dropped at ingestion, kept as keyed digests.

Ingestion asks ``SuppressionList.suppressed(message)`` for every event. The list is an
in-memory set of digests per process, reloaded when it may have changed (a cheap count and
newest-row check every ``ttl`` seconds, like the source cache, and at once after this process
added entries). While it is empty nothing is computed; otherwise only the identifiers the event
carries are normalised (the identity rules' ``canonical`` form, without the checks that refuse
values: a refused value never became an identifier, so it cannot be suppressed) and digested
(``kizuna.privacy.keys.identifier_digest``). A bounded per-process cache maps the raw values
seen recently (a visitor's anonymousId comes with every event of the visit) to their digests.

After an erasure on SQLite, deleted content must not survive in the database file: the erasure
transaction runs with ``PRAGMA secure_delete=ON`` (deleted bytes are zeroed) and, once
committed, the WAL (which still holds older copies of the pages) is checkpointed and truncated.
Where the SQLite library does not zero deleted content by default, older deletes and updates
may have left copies in free space, so the file is also rebuilt with ``VACUUM``
(``settings.privacy.sqlite_vacuum_after_erasure``; measurements in docs/privacy.md).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from kizuna.db import Database
from kizuna.identity import identifiers
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier, candidates, canonical
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import insert_ignore
from kizuna.models import SigningKey, Suppression
from kizuna.privacy.keys import DIGESTS, identifier_digest

log = logging.getLogger(__name__)

CACHE_ENTRIES = 200_000


class _Changes:
    """Bumped when this process adds suppressions: its lists reload on their next use."""

    generation = 0


def note_changed() -> None:
    _Changes.generation += 1


def add(
    session: Session, digests: Mapping[Identifier, str], *, reason: str, request_id: str | None
) -> int:
    """Suppress every identifier (already suppressed ones stay as they were)."""
    if not digests:
        return 0
    now = utcnow()
    rows = [
        {
            "digest": digest,
            "identifier_type": identifier.type,
            "reason": reason,
            "request_id": request_id,
            "created_at": now,
        }
        for identifier, digest in sorted(digests.items())
    ]
    conn = session.connection()
    statement = insert_ignore(conn, Suppression, ["digest"]).returning(Suppression.digest)
    return len(conn.execute(statement, rows).all())


# --- SQLite: no residue of erased content in the file ----------------------------------------


def secure_delete(session: Session) -> None:
    """Zero the bytes of what this transaction deletes (SQLite; a no-op elsewhere)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))


def library_zeroes_deleted_content() -> bool:
    """Was this SQLite built with ``SQLITE_SECURE_DELETE`` (Debian's is)? Then content deleted
    or updated before the erasure left no copies in free space either."""
    with sqlite3.connect(":memory:") as probe:
        return bool(probe.execute("PRAGMA secure_delete").fetchone()[0])


def scrub_after_commit(session: Session, *, vacuum: str = "auto") -> None:
    """Once the erasure commits: checkpoint and truncate the WAL and, if ``vacuum`` says so
    (``always``, or ``auto`` on a library that keeps deleted bytes), rebuild the file."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or not isinstance(bind, Engine):
        return
    rebuild = vacuum == "always" or (vacuum == "auto" and not library_zeroes_deleted_content())

    done = False

    def scrub(committed: Session) -> None:
        nonlocal done
        if done or committed.in_nested_transaction():  # a savepoint, not the erasure's commit
            return
        done = True
        started = time.perf_counter()
        try:
            scrub_sqlite(bind, vacuum=rebuild)
        except Exception:  # the erasure stands; the residue goes at the next VACUUM
            log.exception("SQLite scrub after erasure failed")
        log.info("SQLite scrub after erasure took %.3f s", time.perf_counter() - started)

    event.listen(session, "after_commit", scrub)


def scrub_sqlite(engine: Engine, *, vacuum: bool) -> None:
    """Outside any transaction, on a connection of its own (the caller's just committed)."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if vacuum:
            raw.execute("VACUUM")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- ingestion's view ----------------------------------------------------------------------


class SuppressionList:
    def __init__(self, db: Database, rules: IdentityRules, ttl_seconds: float) -> None:
        self.db = db
        self.rules = rules
        self.ttl = ttl_seconds
        self._digests: frozenset[str] = frozenset()
        self._secret = ""
        self._stamp: tuple[Any, ...] | None = None
        self._checked_at = float("-inf")
        self._generation = -1
        self._lock = threading.Lock()
        self._digest_of: dict[tuple[str, object], str] = {}

    def __len__(self) -> int:
        return len(self._digests)

    def stale(self) -> bool:
        return (
            self._generation != _Changes.generation
            or time.monotonic() - self._checked_at >= self.ttl
        )

    def refresh(self) -> None:
        """Reload the digests if the table changed since the last look (blocking I/O)."""
        with self._lock:
            generation = _Changes.generation
            with self.db.read() as session:
                stamp = tuple(
                    session.execute(select(func.count(), func.max(Suppression.created_at))).one()
                )
                if stamp != self._stamp:
                    digests = frozenset(session.execute(select(Suppression.digest)).scalars())
                    key = session.scalar(
                        select(SigningKey.secret)
                        .where(SigningKey.purpose == DIGESTS)
                        .order_by(SigningKey.id)
                        .limit(1)
                    )
                    self._secret = key or ""
                    self._digest_of = {}
                    self._digests = digests if key else frozenset()
                    self._stamp = stamp
            self._checked_at = time.monotonic()
            self._generation = generation

    def suppressed(self, message: Mapping[str, Any]) -> bool:
        """Does this event carry a suppressed identifier? Free while the list is empty."""
        digests = self._digests
        if not digests:
            return False
        known = self._digest_of
        for pair in candidates(message, self.rules):
            digest = known.get(pair)
            if digest is None:
                digest = self._digest(*pair)
                if len(known) >= CACHE_ENTRIES:  # bounded: a flood of new ids must not grow it
                    known.clear()
                known[pair] = digest
            if digest in digests:
                return True
        return False

    def _digest(self, id_type: str, raw: object) -> str:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            return ""
        value = canonical(id_type, identifiers.text(str(raw)), self.rules)
        return identifier_digest(self._secret, Identifier(id_type, value)) if value else ""
