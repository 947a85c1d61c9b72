"""The ``identity`` consumer: every event's identifiers resolve into profiles."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from kizuna.identity.config import IdentityRules
from kizuna.identity.service import resolve_events
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent, SqlEventLog


def identity_consumer(rules: IdentityRules, log: SqlEventLog | None = None) -> Consumer:
    """``log``: where ``profile.merged`` and ``profile.split`` are appended (none: not emitted)."""

    def handle(session: Session, events: Sequence[LoggedEvent]) -> None:
        resolve_events(session, events, rules, log)

    return Consumer(
        name="identity",
        handle=handle,
        description="Identifiers and evidence into one profile per person (rules v"
        f"{rules.version}).",
        system_events=frozenset(),  # they carry no identifiers
    )
