"""Reading and writing the per-profile state the evaluator works on (the engine's repository)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.orm import Session

from kizuna.identity.config import IdentityRules
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import BulkInsert, among, chunks, dialect_insert, pairs_in, utc_param
from kizuna.models import (
    ComputedTraitValue,
    ConsentRecord,
    IdentityNode,
    Profile,
    SegmentMember,
    SegmentOccurrence,
    SegmentProfile,
    SegmentTimer,
    SegmentTraitValue,
    SegmentWatermark,
)
from kizuna.profiles.service import traits_of as profile_traits_of
from kizuna.segments.aggregate import Occurrence
from kizuna.segments.evaluate import ProfileState
from kizuna.segments.values import Cell, cell_of

CONSENT_WATERMARK = "consent_records"
STATE_VERSION = "state_version"
PART = 500
MAX_PATH_DEPTH = 4
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # a name a condition's path can address


def live_among(conn: Connection, profile_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(set(profile_ids)), PART):
        query = select(Profile.id).where(
            among(conn.dialect.name, Profile.id, part), Profile.merged_into.is_(None)
        )
        found.update(conn.scalars(query))
    return found


def load_states(conn: Connection, profile_ids: Sequence[str]) -> dict[str, ProfileState]:
    states = {p: ProfileState(p) for p in profile_ids}
    for part in chunks(list(profile_ids), PART):
        o = SegmentOccurrence
        rows = conn.execute(
            select(o.profile_id, o.feature, o.at_ms, o.seq, o.number, o.text, o.value).where(
                among(conn.dialect.name, o.profile_id, part)
            )
        )
        for pid, feature, at_ms, seq, number, text, value in rows:
            states[pid].occurrences.setdefault(feature, []).append(
                Occurrence(int(at_ms), int(seq), number, text, value)
            )
        t = SegmentTraitValue
        for pid, path, number, text, value in conn.execute(
            select(t.profile_id, t.path, t.number, t.text, t.value).where(
                among(conn.dialect.name, t.profile_id, part)
            )
        ):
            states[pid].traits[path] = Cell(number, text, value)
        c = ComputedTraitValue
        for pid, key, number, text, value in conn.execute(
            select(c.profile_id, c.key, c.number, c.text, c.value).where(
                among(conn.dialect.name, c.profile_id, part)
            )
        ):
            states[pid].computed[key] = Cell(number, text, value)
        for holder, types in identifier_types(conn, part).items():
            states[holder].identifier_types = types
        for pid, segment_id in conn.execute(
            select(SegmentMember.profile_id, SegmentMember.segment_id).where(
                among(conn.dialect.name, SegmentMember.profile_id, part)
            )
        ):
            states[pid].segments.add(segment_id)
    return states


def identifier_types(conn: Connection, profile_ids: Sequence[str]) -> dict[str, set[str]]:
    """The types of identifier each profile holds (every profile asked, holding some or not)."""
    found: dict[str, set[str]] = {p: set() for p in profile_ids}
    for part in chunks(list(profile_ids), PART):
        for holder, id_type in conn.execute(
            select(IdentityNode.profile_id, IdentityNode.type)
            .where(among(conn.dialect.name, IdentityNode.profile_id, part))
            .distinct()
        ):
            found[str(holder)].add(id_type)
    return found


def flatten(value: Any, prefix: str, out: dict[str, Cell], depth: int = 1) -> None:
    """Objects become dotted paths (up to four names); everything else is one cell."""
    if isinstance(value, dict):
        if depth > MAX_PATH_DEPTH:
            return
        for key, inner in value.items():
            if isinstance(key, str) and _NAME.match(key):
                flatten(inner, f"{prefix}.{key}" if prefix else key, out, depth + 1)
        return
    cell = cell_of(value)
    if cell is not None and prefix:
        out[prefix] = cell


_TRAIT_VALUES = BulkInsert(SegmentTraitValue, ("profile_id", "path", "number", "text", "value"))


def projected_traits(
    session: Session, rules: IdentityRules, profile_ids: Sequence[str]
) -> dict[str, dict[str, Cell]]:
    """Each profile's flattened traits as the profile shows them now. Values sealed at rest
    stay sealed here: a condition can ask whether they exist, never what they are."""
    found: dict[str, dict[str, Cell]] = {}
    for part in chunks(list(profile_ids), PART):
        shown = profile_traits_of(session, rules, part, sealed=True)
        for profile_id in part:
            cells: dict[str, Cell] = {}
            for key, trait in shown.get(profile_id, {}).items():
                if _NAME.match(key):
                    flatten(trait["value"], key, cells, 2)
            found[profile_id] = cells
    return found


def write_traits(conn: Connection, projected: dict[str, dict[str, Cell]]) -> None:
    """Replace the stored traits of these profiles."""
    ids = list(projected)
    for part in chunks(ids, PART):
        conn.execute(
            delete(SegmentTraitValue).where(
                among(conn.dialect.name, SegmentTraitValue.profile_id, part)
            )
        )
    rows = [(p, path, c.number, c.text, c.value) for p in ids for path, c in projected[p].items()]
    _TRAIT_VALUES.run(conn, rows)


def project_traits(session: Session, rules: IdentityRules, profile_ids: Sequence[str]) -> None:
    """Replace each profile's stored traits with what the profile shows now."""
    write_traits(session.connection(), projected_traits(session, rules, profile_ids))


_COMPUTED = BulkInsert(
    ComputedTraitValue,
    ("key", "profile_id", "number", "text", "value", "updated_at"),
    conflict=("key", "profile_id"),
    update=("number", "text", "value", "updated_at"),
)
_TIMER_SET = BulkInsert(
    SegmentTimer, ("profile_id", "due_ms"), conflict=("profile_id",), update=("due_ms",)
)
_TIMER_EARLIER = BulkInsert(
    SegmentTimer, ("profile_id", "due_ms"), conflict=("profile_id",), update={"due_ms": "earliest"}
)


def write_computed(conn: Connection, changes: Sequence[tuple[str, str, Cell | None]]) -> None:
    """(key, profile, new value or None to remove); one change per (key, profile)."""
    gone = [(k, p) for k, p, c in changes if c is None]
    for pairs in chunks(gone, PART):
        conn.execute(
            delete(ComputedTraitValue).where(
                pairs_in(ComputedTraitValue.key, ComputedTraitValue.profile_id, pairs)
            )
        )
    now = utc_param(conn.dialect.name)(utcnow())
    _COMPUTED.run(
        conn,
        [(k, p, c.number, c.text, c.value, now) for k, p, c in changes if c is not None],
    )


def set_timers(conn: Connection, dues: dict[str, int], *, replace: bool) -> None:
    """Upsert each profile's next look; ``replace`` sets it, otherwise the earlier one wins."""
    (_TIMER_SET if replace else _TIMER_EARLIER).run(conn, list(dues.items()))


def clear_timers(conn: Connection, profile_ids: Sequence[str]) -> None:
    for part in chunks(list(profile_ids), PART):
        conn.execute(
            delete(SegmentTimer).where(among(conn.dialect.name, SegmentTimer.profile_id, part))
        )


_KNOWN = BulkInsert(SegmentProfile, ("profile_id",), conflict=("profile_id",))


def known_among(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """The profiles the engine has looked at in full before."""
    found: set[str] = set()
    for part in chunks(list(profile_ids), PART):
        query = select(SegmentProfile.profile_id).where(
            among(conn.dialect.name, SegmentProfile.profile_id, part)
        )
        found.update(conn.scalars(query))
    return found


def remember(conn: Connection, profile_ids: Sequence[str]) -> None:
    _KNOWN.run(conn, [(p,) for p in profile_ids])


def drop_profiles(conn: Connection, profile_ids: Sequence[str]) -> None:
    """Forget the derived state of profiles that are no longer live (merged away, erased)."""
    for part in chunks(list(profile_ids), PART):
        for model in (SegmentTraitValue, ComputedTraitValue, SegmentTimer, SegmentProfile):
            conn.execute(delete(model).where(among(conn.dialect.name, model.profile_id, part)))


def watermark(session: Session, name: str) -> int | None:
    query = select(SegmentWatermark.position).where(SegmentWatermark.name == name)
    position = session.scalar(query)
    return None if position is None else int(position)


def ledger_head(session: Session) -> int:
    return int(session.scalar(select(func.max(ConsentRecord.id))) or 0)


def set_watermark(session: Session, name: str, position: int) -> None:
    conn = session.connection()
    stmt = dialect_insert(conn, SegmentWatermark)
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"position": position})
    conn.execute(stmt, [{"name": name, "position": position}])


def state_version(conn: Connection) -> int:
    """How many transactions have written segment state (see ``bump_state_version``)."""
    query = select(SegmentWatermark.position).where(SegmentWatermark.name == STATE_VERSION)
    return int(conn.execute(query).scalar() or 0)


def bump_state_version(conn: Connection) -> None:
    """Every transaction that writes segment state counts itself, so a decision taken on an
    earlier snapshot can tell that the state it read has moved on."""
    stmt = dialect_insert(conn, SegmentWatermark).values(name=STATE_VERSION, position=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"position": SegmentWatermark.position + 1}
    )
    conn.execute(stmt)


def consent_recorded_since(
    session: Session, after: int, limit: int
) -> list[tuple[int, str | None]]:
    """(ledger row id, the profile holding its identifier now) for rows after ``after``."""
    c, n = ConsentRecord, IdentityNode
    query = (
        select(c.id, n.profile_id)
        .outerjoin(n, and_(n.type == c.identifier_type, n.value == c.identifier_value))
        .where(c.id > after)
        .order_by(c.id)
        .limit(limit)
    )
    return [(int(i), p) for i, p in session.execute(query)]
