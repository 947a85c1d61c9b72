"""Matching an offline list against the profile store, and the review of the grey zone.

Each record is an identifier of its list (``--id-type``, e.g. ``legacy_customer``). Its best
profile decides what happens:

- probability at or above ``link_above``, and no other profile that high: *probabilistic*
  evidence joins the record's identifier to the profile (lower trust: it may add to one
  customer, never fuse two; a retraction undoes it like any evidence);
- at or above ``review_above`` (or two profiles above ``link_above``: ambiguous): the pair
  waits in the review queue; a person accepts it (admin evidence) or rejects it (never
  proposed again for that profile);
- below: nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.service import checked, link
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import new_id
from kizuna.matching.records import prepare
from kizuna.models import IdentityNode, ProbableMatch, Profile
from kizuna.pipeline.log import SqlEventLog
from kizuna.profiles.attributes import ROLES, person_attributes


class MatchNotFound(KizunaError):
    status = 404
    code = "matching.not_found"


class AlreadyDecided(KizunaError):
    status = 409
    code = "matching.already_decided"


@dataclass(frozen=True)
class Thresholds:
    """Defaults: the identity rules' ``match_link_threshold`` and ``match_review_threshold``."""

    link_above: float
    review_above: float

    @classmethod
    def of(
        cls,
        rules: IdentityRules,
        link_above: float | None = None,
        review_above: float | None = None,
    ) -> Thresholds:
        return cls(
            link_above if link_above is not None else rules.match_link_threshold,
            review_above if review_above is not None else rules.match_review_threshold,
        )

    def __post_init__(self) -> None:
        if not 0.0 < self.review_above <= self.link_above <= 1.0:
            raise KizunaError(
                "thresholds must satisfy 0 < review_above <= link_above <= 1",
                code="matching.bad_thresholds",
            )


@dataclass(frozen=True)
class MatchRun:
    run_id: str
    records: int
    profiles: int
    linked: int
    queued: int
    unmatched: int


def match_to_profiles(
    session: Session,
    rules: IdentityRules,
    rows: Sequence[Mapping[str, str]],
    roles: Mapping[str, str],
    *,
    id_column: str,
    id_type: str,
    thresholds: Thresholds | None = None,
    log: SqlEventLog | None = None,
    progress: Callable[[str], None] | None = None,
) -> MatchRun:
    """Link a customer list to the profiles it describes (see the module's rules)."""
    from kizuna.matching.model import find_matches  # Splink and DuckDB load only when needed

    thresholds = thresholds or Thresholds.of(rules)
    records = prepare(rows, roles, id_column, region=rules.default_phone_region, source="records")
    identifiers = {r: checked(id_type, r, rules) for r in records["unique_id"] if r}
    profile_rows = list(person_attributes(session))
    run = new_id("match")
    if not profile_rows:
        return MatchRun(run, len(rows), 0, 0, 0, len(rows))
    profiles = prepare(profile_rows, {r: r for r in ROLES}, "profile_id", source="profiles")
    pairs = find_matches([records, profiles], threshold=thresholds.review_above, progress=progress)
    best: dict[str, list[tuple[float, str]]] = {}
    for pair in pairs:
        best.setdefault(pair.left_id, []).append((pair.probability, pair.right_id))
    raw = {str(row[id_column]).strip(): row for row in rows}
    decided = _decided(session, id_type)
    linked = queued = 0
    for record_id, candidates in best.items():
        candidates.sort(reverse=True)
        sure = [c for c in candidates if c[0] >= thresholds.link_above]
        for probability, profile_id in candidates[:3]:
            if (record_id, profile_id) in decided:
                continue
            row = _upsert(session, run, id_type, record_id, raw[record_id], profile_id, probability)
            if len(sure) == 1 and profile_id == sure[0][1]:
                anchor = _anchor(session, profile_id)
                _, row.evidence_id = link(
                    session,
                    rules,
                    [identifiers[record_id], anchor],
                    note=f"matched with probability {probability:.4f} (run {run})",
                    log=log,
                    trust="probabilistic",
                )
                row.status = "linked"
                linked += 1
                break
            queued += 1
    session.flush()
    return MatchRun(run, len(rows), len(profile_rows), linked, queued, len(rows) - len(best))


def _decided(session: Session, id_type: str) -> set[tuple[str, str]]:
    query = select(ProbableMatch.record_value, ProbableMatch.profile_id).where(
        ProbableMatch.record_type == id_type,
        ProbableMatch.status.in_(("accepted", "rejected", "linked")),
    )
    return {(v, p) for v, p in session.execute(query)}


def _upsert(
    session: Session,
    run: str,
    id_type: str,
    record_id: str,
    record: Mapping[str, str],
    profile_id: str,
    probability: float,
) -> ProbableMatch:
    row = session.scalar(
        select(ProbableMatch).where(
            ProbableMatch.record_type == id_type,
            ProbableMatch.record_value == record_id,
            ProbableMatch.profile_id == profile_id,
        )
    )
    if row is None:
        row = ProbableMatch(
            record_type=id_type,
            record_value=record_id,
            profile_id=profile_id,
            status="pending",
            created_at=utcnow(),
        )
        session.add(row)
    row.run_id = run
    row.record = orjson.dumps(dict(record)).decode()
    row.probability = probability
    return row


def _anchor(session: Session, profile_id: str) -> Identifier:
    node = session.execute(
        select(IdentityNode.type, IdentityNode.value)
        .join(Profile, Profile.anchor_node_id == IdentityNode.id)
        .where(Profile.id == profile_id)
    ).one()
    return Identifier(node.type, node.value)


def pending(session: Session, *, limit: int = 50, offset: int = 0) -> list[ProbableMatch]:
    """The review queue, most probable first."""
    query = (
        select(ProbableMatch)
        .where(ProbableMatch.status == "pending")
        .order_by(ProbableMatch.probability.desc(), ProbableMatch.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.execute(query).scalars())


def recent(session: Session, *, status: str, limit: int = 50) -> list[ProbableMatch]:
    query = (
        select(ProbableMatch)
        .where(ProbableMatch.status == status)
        .order_by(ProbableMatch.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def decide(
    session: Session,
    rules: IdentityRules,
    match_id: int,
    *,
    accept: bool,
    actor: str,
    log: SqlEventLog | None = None,
) -> ProbableMatch:
    """A person's verdict on a pending pair: accepted pairs become admin evidence."""
    row = session.get(ProbableMatch, match_id)
    if row is None:
        raise MatchNotFound(f"no probable match {match_id}")
    if row.status != "pending":
        raise AlreadyDecided(f"probable match {match_id} is already {row.status}")
    if accept:
        record = checked(row.record_type, row.record_value, rules)
        _, row.evidence_id = link(
            session,
            rules,
            [record, _anchor(session, row.profile_id)],
            note=f"probable match {row.id} ({row.probability:.4f}) accepted by {actor}",
            log=log,
        )
    row.status = "accepted" if accept else "rejected"
    row.decided_by = actor
    row.decided_at = utcnow()
    session.flush()
    return row


def as_dict(row: ProbableMatch) -> dict[str, Any]:
    return {
        "id": row.id,
        "run_id": row.run_id,
        "record": {"type": row.record_type, "value": row.record_value}
        | {"fields": orjson.loads(row.record)},
        "profile_id": row.profile_id,
        "probability": row.probability,
        "status": row.status,
        "evidence_id": row.evidence_id,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "created_at": row.created_at,
    }
