"""Probable matches' part in data subject requests: offline records tied to the person.

A record belongs to the person when the matcher tied it to one of their profiles or when its
own identifier is one of theirs (a record linked, then split off again).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kizuna.identity.store import chunks
from kizuna.kit.sql import pairs_in
from kizuna.matching.service import as_dict
from kizuna.models import ProbableMatch
from kizuna.privacy.subject import ExportFiles, Person, PersonalData, removed


def _where(person: Person, part: Any) -> Any:
    return or_(
        ProbableMatch.profile_id.in_(sorted(person.profile_ids)),
        pairs_in(ProbableMatch.record_type, ProbableMatch.record_value, part),
    )


def _keys(person: Person) -> list[tuple[str, str]]:
    return sorted((i.type, i.value) for i in person.identifiers)


def export(session: Session, person: Person) -> ExportFiles:
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(_keys(person)):
        for row in session.execute(select(ProbableMatch).where(_where(person, part))).scalars():
            found[row.id] = as_dict(row)
    return {"probable_matches.json": [found[k] for k in sorted(found)]}


def erase(session: Session, person: Person) -> int:
    return sum(
        removed(session, delete(ProbableMatch).where(_where(person, part)))
        for part in chunks(_keys(person))
    )


MATCHING = PersonalData(
    name="matching",
    tables=("identity_probable_matches",),
    export=export,
    erase=erase,
)
