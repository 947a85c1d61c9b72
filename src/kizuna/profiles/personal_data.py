"""The profile's part in data subject requests: who the person is, and the 360 view to export.

Finding the person starts here: the live profile holding the identifier asked about, and every
profile id that was merged into it (old ids still point at the person). The rows themselves
belong to the identity graph, whose handler erases them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.models import Profile
from kizuna.privacy.subject import ExportFiles, Person, PersonalData, PersonNotFound
from kizuna.profiles import service


def gather(session: Session, person: Person) -> None:
    try:
        profile = service.lookup(session, person.rules, person.asked.type, person.asked.value)
    except service.ProfileNotFound:
        raise PersonNotFound(f"no profile holds this {person.asked.type}") from None
    person.live_profile_id = profile.id
    found = {profile.id}
    frontier = [profile.id]
    while frontier:  # merged-away ids, however many merges ago
        frontier = [
            p
            for p in session.execute(
                select(Profile.id).where(Profile.merged_into.in_(frontier))
            ).scalars()
            if p not in found
        ]
        found.update(frontier)
    person.profile_ids |= found


def export(session: Session, person: Person) -> ExportFiles:
    live = person.live_profile_id
    assert live is not None
    profile = session.get(Profile, live)
    assert profile is not None
    return {
        "profile.json": {
            **service.summary(profile),
            "merged_profile_ids": sorted(person.profile_ids - {live}),
            "channels": service.channels(session, live),
        },
        "identifiers.json": service.identifiers(session, live),
        "traits.json": service.traits(session, person.rules, live),
    }


def erase(_: Session, __: Person) -> int:
    return 0  # the profile's rows are the identity graph's (``kizuna.identity.personal_data``)


PROFILES = PersonalData(name="profile", tables=(), export=export, erase=erase, gather=gather)
