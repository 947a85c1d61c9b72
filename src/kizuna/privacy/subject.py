"""A data subject as the privacy registry sees it, and what a domain holding personal data provides.

Every domain whose tables hold personal data contributes one ``PersonalData`` to
``kizuna.privacy.registry``. A request runs in three steps, all in one transaction:

1. ``gather``: each handler in registry order adds what it knows to the ``Person`` (identity
   finds the profiles, identifiers and evidence; the event log finds the events). Later
   handlers only read what earlier ones gathered, so nothing depends on deletion order;
2. ``export``: each handler returns files for the archive (``name.json`` or ``name.jsonl``);
3. ``erase``: each handler removes or anonymises its rows and says how many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier


class PersonNotFound(KizunaError):
    status = 404
    code = "privacy.person_not_found"


@dataclass(frozen=True, slots=True)
class LoggedRef:
    """An event of the person: where it sits in the log and its dedup key."""

    seq: int
    source_id: str
    message_id: str


@dataclass
class Person:
    """Everything known about one person so far (filled by the handlers' ``gather``)."""

    asked: Identifier
    rules: IdentityRules
    profile_ids: set[str] = field(default_factory=set)
    live_profile_id: str | None = None
    identifiers: set[Identifier] = field(default_factory=set)
    node_ids: set[int] = field(default_factory=set)
    evidence_ids: set[int] = field(default_factory=set)
    events: dict[int, LoggedRef] = field(default_factory=dict)
    # values the identity rules refused in the person's events (type, value)
    refused: set[tuple[str, str]] = field(default_factory=set)
    # log position of the request (events after it may not be resolved yet)
    after_seq: int | None = None
    # keyed digests of the identifiers (filled once gathering is done)
    digests: dict[Identifier, str] = field(default_factory=dict)

    @property
    def values(self) -> set[str]:
        return {i.value for i in self.identifiers}


ExportFiles = dict[str, Any]  # "events.jsonl" -> list of records, "profile.json" -> any JSON


def removed(session: Session, statement: Executable) -> int:
    """Run a DELETE (or UPDATE) and say how many rows it touched."""
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def _nothing(_: Session, __: Person) -> None:
    return None


@dataclass(frozen=True)
class PersonalData:
    """One domain's part in data subject requests.

    ``tables``: every table whose personal rows this handler exports and erases (the registry
    test fails when a table is neither covered here nor declared not personal).
    """

    name: str
    tables: tuple[str, ...]
    export: Callable[[Session, Person], ExportFiles]
    erase: Callable[[Session, Person], int]
    gather: Callable[[Session, Person], None] = _nothing
