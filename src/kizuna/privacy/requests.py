"""Data subject requests: export, erasure and suppression of a person found by any identifier.

A request is a row plus a system event in the log (``privacy.request``). The ``privacy``
consumer (``kizuna.privacy.requests_consumer``) takes it in two steps, each its own committed
transaction: ``start`` marks it running and appends ``privacy.request.run``; ``run`` does the
work with every handler of ``kizuna.privacy.registry`` and marks it completed or failed. A crash
in between replays the step from the log, and both steps are idempotent by status.

Audit entries name the request id and identifier digests, never the identifier itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, defer

from kizuna.config import PrivacySettings
from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.service import checked
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import new_id
from kizuna.models import PrivacyRequest
from kizuna.pipeline.log import SqlEventLog
from kizuna.privacy import audit, requests_rules, suppression
from kizuna.privacy.keys import digest_secret, identifier_digest
from kizuna.privacy.registry import HANDLERS
from kizuna.privacy.requests_events import append_request_event
from kizuna.privacy.subject import ExportFiles, Person, PersonNotFound
from kizuna.profiles import service as profiles

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:privacy"


class RequestNotFound(KizunaError):
    status = 404
    code = "privacy.request_not_found"


class NoArchive(KizunaError):
    status = 404
    code = "privacy.no_archive"


class InvalidRequest(KizunaError):
    status = 400
    code = "privacy.invalid_request"


def create(
    session: Session,
    rules: IdentityRules,
    settings: PrivacySettings,
    event_log: SqlEventLog,
    *,
    kind: str,
    identifier_type: str,
    identifier_value: str,
    regulation: str | None,
    actor: str,
    ip: str | None = None,
) -> PrivacyRequest:
    """Accept a request and queue it in the log.

    An export or erasure for an identifier no profile holds is refused with
    ``privacy.person_not_found``; the refusal is audited in ``session`` first, so the caller
    commits before letting the error out. A suppression needs no person: it may come before
    any data does.
    """
    regulation = regulation or settings.default_regulation
    if kind not in requests_rules.KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(requests_rules.KINDS)}")
    if regulation not in requests_rules.REGULATIONS:
        raise InvalidRequest(f"regulation must be one of {', '.join(requests_rules.REGULATIONS)}")
    identifier = checked(identifier_type, identifier_value, rules)
    digest = identifier_digest(digest_secret(session), identifier)
    if kind != "suppression":
        try:
            profiles.lookup(session, rules, identifier.type, identifier.value)
        except profiles.ProfileNotFound:
            audit.record(
                session,
                actor,
                "privacy.request.person_not_found",
                "identifier",
                digest,
                outcome="failed",
                ip=ip,
                details={"kind": kind, "identifier_type": identifier.type},
            )
            raise PersonNotFound(f"no profile holds this {identifier.type}") from None
    now = utcnow()
    row = PrivacyRequest(
        id=new_id("dsr"),
        kind=kind,
        regulation=regulation,
        identifier_type=identifier.type,
        identifier_value=identifier.value,
        identifier_digest=digest,
        status="pending",
        requested_by=actor[:200],
        created_at=now,
        deadline_at=requests_rules.deadline(now, regulation, settings),
    )
    session.add(row)
    session.flush()
    append_request_event(session.connection(), event_log, row.id)
    audit.record(
        session,
        actor,
        "privacy.request.created",
        "privacy_request",
        row.id,
        ip=ip,
        details={"kind": kind, "regulation": regulation, "identifier_digest": digest},
    )
    return row


def get(session: Session, request_id: str) -> PrivacyRequest:
    row = session.get(PrivacyRequest, request_id)
    if row is None:
        raise RequestNotFound(f"no privacy request {request_id}")
    return row


# Listings leave the archives (up to megabytes each) in the database and say if there is one.
_WITH_ARCHIVE_FLAG = select(PrivacyRequest, PrivacyRequest.archive.is_not(None)).options(
    defer(PrivacyRequest.archive)
)


def overview(session: Session, request_id: str) -> tuple[PrivacyRequest, bool]:
    """The request and whether it holds an archive (the archive itself is not read)."""
    found = session.execute(_WITH_ARCHIVE_FLAG.where(PrivacyRequest.id == request_id)).first()
    if found is None:
        raise RequestNotFound(f"no privacy request {request_id}")
    return found[0], bool(found[1])


def listing(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[tuple[PrivacyRequest, bool]]:
    """Newest first, each with whether it holds an archive."""
    query = _WITH_ARCHIVE_FLAG.order_by(PrivacyRequest.created_at.desc(), PrivacyRequest.id)
    if status:
        query = query.where(PrivacyRequest.status == status)
    if kind:
        query = query.where(PrivacyRequest.kind == kind)
    rows = session.execute(query.limit(max(1, min(limit, 1000)))).all()
    return [(row, bool(has)) for row, has in rows]


def download(session: Session, request_id: str, actor: str, ip: str | None = None) -> bytes:
    """The export's zip (audited), or ``privacy.no_archive``."""
    row = get(session, request_id)
    if row.archive is None:
        raise NoArchive(f"request {request_id} has no archive (kind {row.kind}, {row.status})")
    audit.record(
        session,
        actor,
        "privacy.archive.downloaded",
        "privacy_request",
        row.id,
        ip=ip,
        details={"bytes": len(row.archive)},
    )
    return row.archive


# --- execution (the ``privacy`` consumer) ------------------------------------------------------


def start(session: Session, event_log: SqlEventLog, request_id: str, seq: int) -> bool:
    """Step 1: pending → running, and queue step 2 behind everything logged so far."""
    row = session.get(PrivacyRequest, request_id)
    if row is None or row.status != "pending":
        return False
    row.status = "running"
    row.started_at = utcnow()
    append_request_event(session.connection(), event_log, row.id, after_seq=seq)
    audit.record(
        session,
        SYSTEM_ACTOR,
        "privacy.request.started",
        "privacy_request",
        row.id,
        details={"kind": row.kind},
    )
    return True


def run(
    session: Session,
    rules: IdentityRules,
    request_id: str,
    after_seq: int,
    *,
    sqlite_vacuum: str = "auto",
) -> str | None:
    """Step 2: do the work; the request ends completed or failed. Returns the final status."""
    row = session.get(PrivacyRequest, request_id)
    if row is None or row.status != "running":
        return None
    try:
        with session.begin_nested():
            result = _perform(session, rules, row, after_seq, sqlite_vacuum)
    except OperationalError:
        raise  # the database is unwell: the consumer retries the whole step
    except Exception as error:  # any other failure is the request's outcome
        code = error.code if isinstance(error, KizunaError) else "privacy.internal"
        message = error.message if isinstance(error, KizunaError) else type(error).__name__
        log.error("privacy request %s failed: %s", request_id, code)
        _finish(session, row, "failed", {"error": code}, error=f"{code}: {message}")
        return "failed"
    _finish(session, row, "completed", result)
    if row.kind != "export":
        suppression.note_changed()
    return "completed"


def _finish(
    session: Session,
    row: PrivacyRequest,
    status: str,
    result: dict[str, Any],
    error: str | None = None,
) -> None:
    row.status = status
    row.completed_at = utcnow()
    row.result = orjson.dumps(result).decode()
    row.error = error
    details = {"kind": row.kind, **({"error": result["error"]} if error else {})}
    audit.record(
        session,
        SYSTEM_ACTOR,
        f"privacy.request.{status}",
        "privacy_request",
        row.id,
        outcome="ok" if status == "completed" else "failed",
        details=details,
    )


def _person(session: Session, rules: IdentityRules, row: PrivacyRequest, after: int) -> Person:
    if row.identifier_value is None:
        raise PersonNotFound("the identifier of this request was erased meanwhile")
    person = Person(Identifier(row.identifier_type, row.identifier_value), rules, after_seq=after)
    try:
        for handler in HANDLERS:
            handler.gather(session, person)
    except PersonNotFound:
        if row.kind != "suppression":
            raise
        person = Person(person.asked, rules, identifiers={person.asked})
    secret = digest_secret(session)
    person.digests = {i: identifier_digest(secret, i) for i in sorted(person.identifiers)}
    return person


def _perform(
    session: Session, rules: IdentityRules, row: PrivacyRequest, after: int, sqlite_vacuum: str
) -> dict[str, Any]:
    person = _person(session, rules, row, after)
    summary: dict[str, Any] = {
        "profiles": len(person.profile_ids),
        "identifiers": len(person.identifiers),
        "events": len(person.events),
    }
    if row.kind == "export":
        files: ExportFiles = {}
        for handler in HANDLERS:
            files.update(handler.export(session, person))
        manifest = {
            "request_id": row.id,
            "regulation": row.regulation,
            "generated_at": utcnow(),
            "identifier": str(person.asked),
            "profile_id": person.live_profile_id,
            "sources": [h.name for h in HANDLERS],
        }
        row.archive = requests_rules.archive(manifest, files)
        return {**summary, "files": requests_rules.file_counts(files), "bytes": len(row.archive)}
    tombstone = [{"type": i.type, "digest": d} for i, d in sorted(person.digests.items())]
    if row.kind == "erasure":
        suppression.secure_delete(session)
        erased = {handler.name: handler.erase(session, person) for handler in HANDLERS}
        row.identifier_value = None
        row.archive = None
        added = suppression.add(session, person.digests, reason="erasure", request_id=row.id)
        suppression.scrub_after_commit(session, vacuum=sqlite_vacuum)
        return {**summary, "erased": erased, "suppressed": added, "identifiers": tombstone}
    added = suppression.add(session, person.digests, reason="suppression", request_id=row.id)
    return {**summary, "suppressed": added, "identifiers": tombstone}


def result_of(row: PrivacyRequest) -> dict[str, Any] | None:
    return orjson.loads(row.result) if row.result else None


def is_overdue(row: PrivacyRequest, now: datetime | None = None) -> bool:
    return requests_rules.overdue(row.status, row.deadline_at, now or utcnow())
