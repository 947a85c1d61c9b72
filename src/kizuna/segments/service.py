"""Use-cases of segments and computed traits: define, preview, read members and history.

Saving a definition marks it ``computing``; the ``segments`` consumer then reads the history of
any new feature from the log, computes the definition over every profile (with progress on the
row) and from then on keeps it current event by event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from graphlib import CycleError
from typing import Any

import orjson
from sqlalchemy import String, cast, delete, func, select, update
from sqlalchemy.orm import Session

from kizuna.errors import BadRequest, Conflict, NotFound
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import new_id
from kizuna.models import (
    ComputedTraitRow,
    ComputedTraitValue,
    SegmentChange,
    SegmentDefinitionRow,
    SegmentMember,
    SegmentTimer,
)
from kizuna.privacy.consent_config import ConsentCatalogue, check_choice
from kizuna.privacy.contact import may_contact_many
from kizuna.segments import catalogue
from kizuna.segments.compiler import ConsentAsk, Universe, members
from kizuna.segments.definitions import (
    ComputedTraitDefinition,
    ComputedTraitNode,
    ConsentNode,
    SegmentDefinition,
    children,
)
from kizuna.segments.features import Feature, feature_of_trait, features_of_segment
from kizuna.segments.history import backfill, forget_unused, register
from kizuna.segments.state import bump_state_version


class SegmentNotFound(NotFound):
    code = "segment.not_found"


class ComputedTraitNotFound(NotFound):
    code = "computed_trait.not_found"


class SegmentInUse(Conflict):
    code = "segment.in_use"


class InvalidReference(BadRequest):
    code = "segment.invalid_reference"


def now_ms() -> int:
    return int(utcnow().timestamp() * 1000)


# --- definitions ---------------------------------------------------------------------------


def _check_references(session: Session, segment_id: str | None, d: SegmentDefinition) -> None:
    """Every computed trait and segment it reads exists, and no segment reads itself."""
    traits = set(session.scalars(select(ComputedTraitRow.key)))
    stack = [d.condition]
    while stack:
        node = stack.pop()
        if isinstance(node, ComputedTraitNode) and node.key not in traits:
            raise InvalidReference(f"no computed trait {node.key!r}", details={"key": node.key})
        stack.extend(children(node))
    known = catalogue.readable_segments(session)
    for used in d.segments_used():
        if used not in known and used != segment_id:
            raise InvalidReference(f"no segment {used!r}", details={"segment": used})
    known[segment_id or "seg_new"] = d
    try:
        catalogue.order(known)
    except CycleError as cycle:
        raise InvalidReference(
            "segments may not read each other in a circle", code="segment.cycle"
        ) from cycle


def create_segment(session: Session, d: SegmentDefinition) -> SegmentDefinitionRow:
    _check_references(session, None, d)
    now = utcnow()
    row = SegmentDefinitionRow(
        id=new_id("seg"),
        name=d.name,
        description=d.description,
        definition=orjson.dumps(d.condition.model_dump(mode="json", exclude_none=True)).decode(),
        version=1,
        computed_version=0,
        status="computing",
        progress_done=0,
        progress_total=0,
        members=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    register(session, features_of_segment(d))
    session.flush()
    return row


def get_segment(session: Session, segment_id: str) -> SegmentDefinitionRow:
    row = session.get(SegmentDefinitionRow, segment_id)
    if row is None:
        raise SegmentNotFound(f"no segment {segment_id}")
    return row


def definition_of(row: SegmentDefinitionRow) -> SegmentDefinition:
    return catalogue._segment(row)


def list_segments(session: Session) -> list[SegmentDefinitionRow]:
    query = select(SegmentDefinitionRow).order_by(SegmentDefinitionRow.created_at)
    return list(session.scalars(query))


def update_segment(session: Session, segment_id: str, d: SegmentDefinition) -> SegmentDefinitionRow:
    row = get_segment(session, segment_id)
    _check_references(session, segment_id, d)
    row.name, row.description = d.name, d.description
    condition = orjson.dumps(d.condition.model_dump(mode="json", exclude_none=True)).decode()
    _redefine(session, row, condition, features_of_segment(d))
    return row


def delete_segment(session: Session, segment_id: str) -> None:
    get_segment(session, segment_id)
    for other, d in catalogue.readable_segments(session).items():
        if other != segment_id and segment_id in d.segments_used():
            raise SegmentInUse(f"segment {other} reads this segment", details={"by": other})
    bump_state_version(session.connection())
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))
    session.execute(delete(SegmentChange).where(SegmentChange.segment_id == segment_id))
    session.execute(delete(SegmentDefinitionRow).where(SegmentDefinitionRow.id == segment_id))
    forget_unused(session)


def create_computed_trait(session: Session, d: ComputedTraitDefinition) -> ComputedTraitRow:
    if session.get(ComputedTraitRow, d.key) is not None:
        raise Conflict(f"computed trait {d.key!r} exists", code="computed_trait.exists")
    now = utcnow()
    row = ComputedTraitRow(
        key=d.key,
        name=d.name,
        definition=d.model_dump_json(exclude_none=True),
        version=1,
        computed_version=0,
        status="computing",
        progress_done=0,
        progress_total=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    register(session, [feature_of_trait(d)])
    session.flush()
    return row


def get_computed_trait(session: Session, key: str) -> ComputedTraitRow:
    row = session.get(ComputedTraitRow, key)
    if row is None:
        raise ComputedTraitNotFound(f"no computed trait {key}")
    return row


def list_computed_traits(session: Session) -> list[ComputedTraitRow]:
    return list(session.scalars(select(ComputedTraitRow).order_by(ComputedTraitRow.key)))


def update_computed_trait(
    session: Session, key: str, d: ComputedTraitDefinition
) -> ComputedTraitRow:
    row = get_computed_trait(session, key)
    if d.key != key:
        raise BadRequest("a computed trait's key cannot change", code="computed_trait.key_fixed")
    row.name = d.name
    _redefine(session, row, d.model_dump_json(exclude_none=True), [feature_of_trait(d)])
    return row


def _redefine(
    session: Session,
    row: SegmentDefinitionRow | ComputedTraitRow,
    document: str,
    features: list[Feature],
) -> None:
    """A changed document is a new version, computed again in full; the same one changes
    nothing but the time of the edit."""
    if document != row.definition:
        row.definition = document
        row.version += 1
        row.status, row.progress_done, row.progress_total = "computing", 0, 0
        register(session, features)
        session.flush()
        forget_unused(session)
    row.updated_at = utcnow()
    session.flush()


def delete_computed_trait(session: Session, key: str) -> None:
    get_computed_trait(session, key)
    for other, d in catalogue.readable_segments(session).items():
        if f"ct:{key}" in catalogue.needs_of(d):
            raise SegmentInUse(f"segment {other} reads this computed trait", details={"by": other})
    bump_state_version(session.connection())
    session.execute(delete(ComputedTraitValue).where(ComputedTraitValue.key == key))
    session.execute(delete(ComputedTraitRow).where(ComputedTraitRow.key == key))
    forget_unused(session)


# --- preview and members -------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    count: int
    population: int  # live profiles
    sample: list[str]


def preview(
    session: Session,
    d: SegmentDefinition,
    consent: ConsentAsk,
    *,
    sample: int = 10,
    now: datetime | None = None,
) -> Preview:
    """How many profiles match now, and a few of them, saving nothing: the history of a filter
    no definition uses yet is read from the log inside a savepoint that is rolled back."""
    _check_references(session, None, d)
    features = features_of_segment(d)
    with session.begin_nested() as scratch:
        register(session, features)
        backfill(session, features)
        at_ms = int((now or utcnow()).timestamp() * 1000)
        u = Universe(session, at_ms, consent)
        found = members(d.condition, u)
        population = len(u.live)
        scratch.rollback()
    return Preview(len(found), population, sorted(found)[:sample])


def members_page(
    session: Session, segment_id: str, *, after: str | None, limit: int
) -> tuple[list[tuple[str, datetime]], str | None]:
    get_segment(session, segment_id)
    query = select(SegmentMember.profile_id, SegmentMember.since).where(
        SegmentMember.segment_id == segment_id
    )
    if after:
        query = query.where(SegmentMember.profile_id > after)
    rows = [
        (p, s)
        for p, s in session.execute(query.order_by(SegmentMember.profile_id).limit(limit + 1))
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0] if more and rows else None)


def all_members(session: Session, segment_id: str) -> Iterator[str]:
    query = select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment_id)
    yield from session.scalars(
        query.order_by(SegmentMember.profile_id).execution_options(yield_per=5_000)
    )


def memberships_of(session: Session, profile_id: str) -> list[dict[str, Any]]:
    query = (
        select(SegmentDefinitionRow.id, SegmentDefinitionRow.name, SegmentMember.since)
        .join(SegmentMember, SegmentMember.segment_id == SegmentDefinitionRow.id)
        .where(SegmentMember.profile_id == profile_id)
        .order_by(SegmentDefinitionRow.name)
    )
    return [{"segment_id": i, "name": n, "since": s} for i, n, s in session.execute(query)]


def history(
    session: Session,
    *,
    segment_id: str | None = None,
    profile_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = select(SegmentChange)
    if segment_id is not None:
        query = query.where(SegmentChange.segment_id == segment_id)
    if profile_id is not None:
        query = query.where(SegmentChange.profile_id == profile_id)
    rows = session.scalars(query.order_by(SegmentChange.id.desc()).limit(limit))
    return [
        {
            "segment_id": r.segment_id,
            "profile_id": r.profile_id,
            "change": "entered" if r.entered else "exited",
            "at": r.at,
            "cause": r.cause,
            "cause_seq": r.cause_seq,
        }
        for r in rows
    ]


def membership_over_time(session: Session, segment_id: str, days: int = 30) -> list[dict[str, Any]]:
    """Members at the end of each of the last ``days`` days (from the history), oldest first."""
    row = get_segment(session, segment_id)
    day = func.substr(cast(SegmentChange.at, String), 1, 10)
    query = (
        select(day, SegmentChange.entered, func.count())
        .where(SegmentChange.segment_id == segment_id)
        .group_by(day, SegmentChange.entered)
    )
    net: dict[str, int] = {}
    for d, entered, n in session.execute(query):
        net[str(d)] = net.get(str(d), 0) + (n if entered else -n)
    today = utcnow().date()
    points: list[dict[str, Any]] = []
    running = row.members
    for back in range(days):
        d = (today - timedelta(days=back)).isoformat()
        points.append({"day": d, "members": running})
        running -= net.get(d, 0)
    return list(reversed(points))


def profiles_due(session: Session, limit: int, at_ms: int) -> list[str]:
    query = select(SegmentTimer.profile_id).where(SegmentTimer.due_ms <= at_ms)
    return list(session.scalars(query.order_by(SegmentTimer.due_ms).limit(limit)))


def counts_by_segment(session: Session) -> dict[str, int]:
    query = select(SegmentMember.segment_id, func.count()).group_by(SegmentMember.segment_id)
    return {s: int(n) for s, n in session.execute(query)}


def mark_for_recompute(session: Session, segment_id: str) -> SegmentDefinitionRow:
    row = get_segment(session, segment_id)
    session.execute(
        update(SegmentDefinitionRow)
        .where(SegmentDefinitionRow.id == segment_id)
        .values(status="computing", progress_done=0, progress_total=0)
    )
    return row


def consent_asker(consent_catalogue: ConsentCatalogue) -> ConsentAsk:
    """How the compiler asks the privacy domain which profiles may be contacted."""

    def ask(session: Session, profile_ids: list[str], purpose: str, channel: str) -> set[str]:
        decisions = may_contact_many(session, consent_catalogue, profile_ids, purpose, channel)
        return {p for p, d in decisions.items() if d.allowed}

    return ask


def check_consent_choices(d: SegmentDefinition, consent_catalogue: ConsentCatalogue) -> None:
    """Every consent condition names a purpose and channel of the catalogue (400 otherwise)."""
    stack = [d.condition]
    while stack:
        node = stack.pop()
        if isinstance(node, ConsentNode):
            check_choice(consent_catalogue, node.purpose, node.channel)
        stack.extend(children(node))
