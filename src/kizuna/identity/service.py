"""Identity use-cases: resolve events into profiles, retract evidence, link by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.orm import Session

from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.events import emit_changes
from kizuna.identity.extension import extend_profiles
from kizuna.identity.identifiers import (
    IDENTIFIER_TRAITS,
    Identifier,
    Refusal,
    identifiers_of,
    normalise,
)
from kizuna.identity.resolution import Outcome, resolve_around
from kizuna.identity.rules import Trust, make_evidence
from kizuna.identity.store import Observed, ensure_nodes, link_events, node_ids, pairs
from kizuna.identity.store import record_evidence as store_evidence
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import upsert_add
from kizuna.metrics import IDENTITY_CONFLICTS, IDENTITY_REFUSED_VALUES, IDENTITY_RESOLVED
from kizuna.models import EventEvidence, IdentityEvidence, IdentityRefusal, Retraction, Source
from kizuna.pipeline.log import LoggedEvent, SqlEventLog
from kizuna.privacy.sealing import open_payload

RETRACTION_KINDS = ("evidence", "event", "source", "link")


class IdentityNotFound(KizunaError):
    status = 404
    code = "identity.not_found"


class InvalidRetraction(KizunaError):
    status = 400
    code = "identity.invalid_retraction"


def _trust_of(conn: Connection, source_ids: set[str], rules: IdentityRules) -> dict[str, Trust]:
    query = select(Source.id, Source.kind).where(Source.id.in_(source_ids))
    kinds: dict[str, str] = {source: kind for source, kind in conn.execute(query)}
    return {
        s: ("server" if kinds.get(s) in rules.trusted_source_kinds else "client")
        for s in source_ids
    }


def resolve_events(
    session: Session,
    events: Sequence[LoggedEvent],
    rules: IdentityRules,
    log: SqlEventLog | None = None,
) -> Outcome:
    """The identity consumer: every event's identifiers become evidence, then the graph moves."""
    conn = session.connection()
    lock_graph(conn)
    trust = _trust_of(conn, {e.source_id for e in events}, rules)
    seen: dict[Identifier, tuple[datetime, datetime, int]] = {}
    observed: dict[str, Observed] = {}
    per_event: list[tuple[int, str]] = []
    refusals: list[tuple[Refusal, int, datetime]] = []
    for event in events:
        message = open_payload(event.payload, only=IDENTIFIER_TRAITS)
        found, refused = identifiers_of(message, rules)
        refusals += [(r, event.seq, event.timestamp) for r in refused]
        if not found:
            continue
        at = event.timestamp
        for ident in found:
            first, last, n = seen.get(ident, (at, at, 0))
            seen[ident] = (min(first, at), max(last, at), n + 1)
        evidence = make_evidence(event.source_id, trust[event.source_id], found, at, rules)
        prior = observed.get(evidence.key)
        if prior is None:
            observed[evidence.key] = Observed(evidence, "event", event.seq, at, 1)
        else:
            if at < prior.evidence.at:
                prior.evidence = make_evidence(
                    event.source_id, trust[event.source_id], found, at, rules
                )
                prior.first_seq = event.seq
            prior.last_at = max(prior.last_at, at)
            prior.events += 1
        per_event.append((event.seq, evidence.key))
    _record_refusals(conn, refusals)
    if not observed:
        return Outcome()
    nodes, owners = ensure_nodes(conn, seen)
    ids, dirty, created = store_evidence(conn, list(observed.values()), nodes)
    link_events(conn, [(seq, ids[key]) for seq, key in per_event])
    if not dirty:
        return Outcome()
    by_id = {ids[key]: o.evidence for key, o in observed.items() if ids[key] in dirty}
    outcome, rest = extend_profiles(conn, rules, by_id, created, nodes, owners)
    if rest:
        outcome.add(resolve_around(conn, rules, evidence_ids=rest, cause="events"))
    for reason, n in outcome.conflicts.items():
        IDENTITY_CONFLICTS.labels(reason).inc(n)
    if log is not None:
        emit_changes(conn, log, outcome, "events")
    return outcome


GRAPH_LOCK_KEY = 7_401_933  # pg_advisory_xact_lock key: one resolution at a time


def lock_graph(conn: Connection) -> None:
    """Workers resolving different partitions must not rewrite one component at once.

    (SQLite has one writer anyway; PostgreSQL takes a transaction-scoped advisory lock.)
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GRAPH_LOCK_KEY})


def _record_refusals(conn: Connection, refusals: list[tuple[Refusal, int, datetime]]) -> None:
    if not refusals:
        return
    latest: dict[tuple[str, str, str], dict[str, object]] = {}
    for refusal, seq, at in refusals:
        key = (refusal.type, refusal.value[:200], refusal.reason)
        row = latest.setdefault(
            key,
            {"type": key[0], "value": key[1], "reason": key[2], "count": 0},
        )
        row["count"] = int(row["count"]) + 1  # type: ignore[call-overload]
        row["last_seq"] = seq
        row["last_seen_at"] = at
        IDENTITY_REFUSED_VALUES.labels(refusal.reason).inc()
    upsert_add(
        conn,
        IdentityRefusal,
        ["type", "value", "reason"],
        list(latest.values()),
        replace=["last_seq", "last_seen_at"],
    )


def parse_identifier(text: str, rules: IdentityRules) -> Identifier:
    """``type:value`` from an API parameter, normalised like the events' identifiers."""
    id_type, sep, value = text.partition(":")
    if not sep or not id_type:
        raise KizunaError("identifier must be written TYPE:VALUE", code="identity.bad_identifier")
    return checked(id_type, value, rules)


def checked(id_type: str, value: str, rules: IdentityRules) -> Identifier:
    identifier, refusal = normalise(id_type, value, rules)
    if identifier is None:
        assert refusal is not None
        raise KizunaError(f"{id_type} {value!r} is not a usable identifier", code=refusal.reason)
    return identifier


def retract(
    session: Session,
    rules: IdentityRules,
    *,
    kind: str,
    target: str,
    reason: str,
    actor: str,
    log: SqlEventLog | None = None,
) -> Outcome:
    """Withdraw a piece of evidence (append-only) and resolve what it touched again."""
    conn = session.connection()
    lock_graph(conn)
    evidence_ids: list[int] = []
    touched_nodes: list[int] = []
    stored = target
    if kind == "evidence":
        row = conn.execute(
            select(IdentityEvidence.id).where(IdentityEvidence.id == _int(target))
        ).first()
        if row is None:
            raise IdentityNotFound(f"no evidence {target}")
        evidence_ids = [row.id]
    elif kind == "event":
        row = conn.execute(
            select(EventEvidence.evidence_id).where(EventEvidence.seq == _int(target))
        ).first()
        if row is None:
            raise IdentityNotFound(f"no event {target} with identifiers")
        evidence_ids = [row.evidence_id]
    elif kind == "source":
        evidence_ids = list(
            conn.execute(
                select(IdentityEvidence.id).where(IdentityEvidence.source_id == target)
            ).scalars()
        )
        if (
            not evidence_ids
            and conn.execute(select(Source.id).where(Source.id == target)).first() is None
        ):
            raise IdentityNotFound(f"no source {target}")
    elif kind == "link":
        a_text, sep, b_text = target.partition(" ")
        if not sep:
            raise InvalidRetraction("a link is written 'TYPE:VALUE TYPE:VALUE'")
        pair = (parse_identifier(a_text, rules), parse_identifier(b_text.strip(), rules))
        found = node_ids(conn, pair)
        if len(found) != 2:
            raise IdentityNotFound("both identifiers of the link must exist")
        touched_nodes = list(found.values())
        stored = pairs(sorted(pair)).decode()
    else:
        raise InvalidRetraction(f"kind must be one of {', '.join(RETRACTION_KINDS)}")
    conn.execute(
        insert(Retraction).values(
            kind=kind, target=stored, reason=reason, actor=actor, created_at=utcnow()
        )
    )
    outcome = resolve_around(
        conn, rules, evidence_ids=evidence_ids, node_ids=touched_nodes, cause=f"retract {kind}"
    )
    if log is not None:
        emit_changes(conn, log, outcome, f"retract {kind}")
    return outcome


def link(
    session: Session,
    rules: IdentityRules,
    identifiers: Sequence[Identifier],
    *,
    note: str,
    log: SqlEventLog | None = None,
    trust: Trust = "admin",
) -> tuple[Outcome, int]:
    """A link made outside events: an administrator's (trusted) or the matcher's
    (``probabilistic``: it may add identifiers to a customer, never fuse two customers).

    The rules still apply. Returns what changed and the evidence id (the same identifiers
    linked again are the same evidence).
    """
    if len(set(identifiers)) < 2:
        raise KizunaError("a link needs two different identifiers", code="identity.bad_link")
    conn = session.connection()
    lock_graph(conn)
    now = utcnow()
    source = "admin" if trust == "admin" else "matcher"
    evidence = make_evidence(source, trust, identifiers, now, rules)
    nodes, _ = ensure_nodes(conn, {i: (now, now, 0) for i in identifiers})
    observed = Observed(evidence, "admin" if trust == "admin" else trust, None, now, 0, note)
    ids, dirty, _ = store_evidence(conn, [observed], nodes)
    cause = "admin link" if trust == "admin" else f"{trust} link"
    outcome = resolve_around(conn, rules, evidence_ids=sorted(dirty), cause=cause)
    IDENTITY_RESOLVED.labels("graph").inc(len(dirty))
    if log is not None:
        emit_changes(conn, log, outcome, cause)
    return outcome, ids[evidence.key]


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidRetraction(f"{text!r} is not a number") from None
