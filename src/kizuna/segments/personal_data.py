"""Segments' part in data subject requests: what the segments consumer keeps about a person.

Every row is keyed by one of the person's profile ids (occurrences also by the seq of one of
their events, in case a merge or split moved them after gathering): the occurrences of their
events, their projected traits, their computed trait values, the segments they are in, their
membership history and their timer. Erasure also takes their memberships out of each segment's
member count. The definitions themselves name nobody (``NOT_PERSONAL``).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kizuna.identity.store import chunks
from kizuna.models import (
    ComputedTraitValue,
    SegmentChange,
    SegmentDefinitionRow,
    SegmentMember,
    SegmentOccurrence,
    SegmentProfile,
    SegmentTimer,
    SegmentTraitValue,
)
from kizuna.privacy.subject import ExportFiles, Person, PersonalData, removed
from kizuna.segments.state import bump_state_version


def _profiles(person: Person) -> list[str]:
    return sorted(person.profile_ids)


def _json(text: str | None) -> Any:
    return orjson.loads(text) if text is not None else None


def export(session: Session, person: Person) -> ExportFiles:
    members: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    computed: list[dict[str, Any]] = []
    traits: list[dict[str, Any]] = []
    occurrences: list[dict[str, Any]] = []
    for part in chunks(_profiles(person)):
        query = (
            select(SegmentMember.profile_id, SegmentMember.segment_id, SegmentDefinitionRow.name)
            .add_columns(SegmentMember.since)
            .join(SegmentDefinitionRow, SegmentDefinitionRow.id == SegmentMember.segment_id)
            .where(SegmentMember.profile_id.in_(part))
        )
        members += [
            {"profile_id": p, "segment_id": s, "segment_name": n, "since": since}
            for p, s, n, since in session.execute(query)
        ]
        for c in session.scalars(select(SegmentChange).where(SegmentChange.profile_id.in_(part))):
            changes.append(
                {
                    "profile_id": c.profile_id,
                    "segment_id": c.segment_id,
                    "change": "entered" if c.entered else "exited",
                    "at": c.at,
                    "cause": c.cause,
                }
            )
        for v in session.scalars(
            select(ComputedTraitValue).where(ComputedTraitValue.profile_id.in_(part))
        ):
            computed.append(
                {"profile_id": v.profile_id, "key": v.key, "value": _json(v.value)}
                | {"updated_at": v.updated_at}
            )
        for t in session.scalars(
            select(SegmentTraitValue).where(SegmentTraitValue.profile_id.in_(part))
        ):
            traits.append({"profile_id": t.profile_id, "path": t.path, "value": _json(t.value)})
        for o in session.scalars(
            select(SegmentOccurrence).where(SegmentOccurrence.profile_id.in_(part))
        ):
            occurrences.append(
                {"profile_id": o.profile_id, "feature": o.feature, "seq": o.seq}
                | {"at_ms": o.at_ms, "value": _json(o.value)}
            )
    return {
        "segment_memberships.json": sorted(members, key=lambda m: (m["segment_id"], m["since"])),
        "segment_history.json": sorted(changes, key=lambda c: (c["at"], c["segment_id"])),
        "computed_traits.json": sorted(computed, key=lambda c: (c["key"], c["profile_id"])),
        "segment_trait_values.json": sorted(traits, key=lambda t: (t["path"], t["profile_id"])),
        "segment_occurrences.json": sorted(occurrences, key=lambda o: (o["seq"], o["feature"])),
    }


def erase(session: Session, person: Person) -> int:
    """Delete the person's rows (see the module doc); returns the rows removed."""
    count = 0
    bump_state_version(session.connection())  # the engine keeps profiles' states in memory
    for part in chunks(_profiles(person)):
        held = select(SegmentMember.segment_id, func.count()).where(
            SegmentMember.profile_id.in_(part)
        )
        for segment_id, n in session.execute(held.group_by(SegmentMember.segment_id)).all():
            session.execute(
                update(SegmentDefinitionRow)
                .where(SegmentDefinitionRow.id == segment_id)
                .values(members=SegmentDefinitionRow.members - n)
            )
        count += removed(session, delete(SegmentMember).where(SegmentMember.profile_id.in_(part)))
        count += removed(session, delete(SegmentChange).where(SegmentChange.profile_id.in_(part)))
        count += removed(
            session, delete(ComputedTraitValue).where(ComputedTraitValue.profile_id.in_(part))
        )
        count += removed(
            session, delete(SegmentTraitValue).where(SegmentTraitValue.profile_id.in_(part))
        )
        count += removed(session, delete(SegmentTimer).where(SegmentTimer.profile_id.in_(part)))
        count += removed(session, delete(SegmentProfile).where(SegmentProfile.profile_id.in_(part)))
        count += removed(
            session, delete(SegmentOccurrence).where(SegmentOccurrence.profile_id.in_(part))
        )
    for seqs in chunks(sorted(person.events)):
        count += removed(session, delete(SegmentOccurrence).where(SegmentOccurrence.seq.in_(seqs)))
    return count


SEGMENTS = PersonalData(
    name="segments",
    tables=(
        "segment_occurrences",
        "segment_trait_values",
        "computed_trait_values",
        "segment_members",
        "segment_changes",
        "segment_timers",
        "segment_profiles",
    ),
    export=export,
    erase=erase,
)
