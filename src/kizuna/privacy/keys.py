"""Secrets for signed links and identifier digests, generated at first use and kept in the DB.

No secret ships with Kizuna. The newest unretired key of a purpose signs; every unretired key
verifies, so ``rotate`` starts signing with a new key while links already sent keep working
until the old key is retired.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from kizuna.identity.identifiers import Identifier
from kizuna.kit.clock import utcnow
from kizuna.models import SigningKey

LINKS = "links"
DIGESTS = "digests"


def active_secrets(session: Session, purpose: str) -> list[str]:
    """Unretired secrets of ``purpose``, newest first (one is created if there is none)."""
    rows = list(
        session.execute(
            select(SigningKey.secret)
            .where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
            .order_by(SigningKey.id.desc())
        ).scalars()
    )
    if rows:
        return rows
    return [rotate(session, purpose)]


def rotate(session: Session | Connection, purpose: str) -> str:
    secret = secrets.token_urlsafe(48)
    session.execute(insert(SigningKey).values(purpose=purpose, secret=secret, created_at=utcnow()))
    return secret


def retire_all_but_newest(session: Session, purpose: str) -> int:
    newest = session.scalar(
        select(SigningKey.id)
        .where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    )
    if newest is None:
        return 0
    result = session.execute(
        update(SigningKey)
        .where(
            SigningKey.purpose == purpose,
            SigningKey.retired_at.is_(None),
            SigningKey.id != newest,
        )
        .values(retired_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def identifier_digest(secret: str, identifier: Identifier) -> str:
    """A keyed, non-reversible digest of a normalised identifier (suppression, tombstones).

    Keyed BLAKE2b (a MAC by construction, and about four times cheaper than HMAC-SHA256 in
    Python: it runs for every identifier of every event while suppressions exist). The key
    is never rotated away: suppressions must keep matching.
    """
    return identifier_digester(secret)(identifier.type, identifier.value)


def identifier_digester(secret: str) -> Callable[[str, str], str]:
    """``identifier_digest`` with the key prepared once: ``(type, value) -> digest``, for the
    loops that digest every identifier of an audience."""
    key = secret.encode()[:64]
    blake2b = hashlib.blake2b

    def digest(id_type: str, value: str) -> str:
        message = f"{id_type}\x1f{value}".encode()
        return blake2b(message, digest_size=32, key=key).hexdigest()

    return digest


def digest_secret(session: Session | Connection) -> str:
    """The one digest key (the oldest): digests stay comparable forever.

    Migration 0008 creates it, so processes never race to create the first one; a database
    built some other way gets it here at first use."""
    oldest = session.scalar(
        select(SigningKey.secret)
        .where(SigningKey.purpose == DIGESTS)
        .order_by(SigningKey.id)
        .limit(1)
    )
    return oldest if oldest is not None else rotate(session, DIGESTS)
