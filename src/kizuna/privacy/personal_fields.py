"""The personal trait fields in force: built-in, configured, and marked by the sources' plans.

A trait is a property of the person, not of the source that sent it, so a key one source's plan
marks personal is personal in every source's events (``classify`` over every plan). Ingestion
keeps the classification in memory and reloads it every ``ttl`` seconds (like the source
cache); readers that redact compute it per request (one query of the sources table).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from fastapi import Request
from sqlalchemy.orm import Session

from kizuna.auth.service import Principal
from kizuna.config import Settings
from kizuna.db import Database
from kizuna.privacy.classification import (
    Classification,
    PersonalCategory,
    PlanMarks,
    classify,
    plan_marks,
)
from kizuna.privacy.personal_fields_schemas import OriginOut, PersonalFieldList, PersonalFieldOut
from kizuna.privacy.sealing import Sealer
from kizuna.sources.service import list_sources

# Who may read personal fields in raw payloads: whoever may read profiles (SEC-2).
PERSONAL_DATA_SCOPE = "profiles:read"


def personal_fields(
    session: Session, configured: Mapping[str, PersonalCategory] | None = None
) -> Classification:
    """Built-in defaults, ``configured`` (the settings) and the marks of every source's plan."""
    plans = []
    for source in list_sources(session):
        traits = source.plan.get("traits") if isinstance(source.plan, dict) else None
        try:
            marks = plan_marks(traits)
        except ValueError:  # plans are checked when saved; never fail a read on an old one
            continue
        if marks:
            plans.append(PlanMarks(source.id, source.name, marks))
    return classify(configured, plans)


def redaction_for(
    principal: Principal | None,
    session: Session,
    configured: Mapping[str, PersonalCategory] | None = None,
) -> Classification | None:
    """The fields to redact for this caller, or None when it may read personal data."""
    if principal is not None and principal.may(PERSONAL_DATA_SCOPE):
        return None
    return personal_fields(session, configured)


def redaction_of(
    request: Request, principal: Principal | None, session: Session
) -> Classification | None:
    """``redaction_for`` with the app's settings: what an endpoint or console view calls."""
    settings: Settings = request.app.state.settings
    return redaction_for(principal, session, settings.privacy.personal_traits)


def personal_field_list(classification: Classification, sealer: Sealer | None) -> PersonalFieldList:
    return PersonalFieldList(
        sealing=sealer is not None,
        encryption_keys=sealer.key_count if sealer else 0,
        items=[
            PersonalFieldOut(
                field=f.key,
                category=f.category,
                origins=[
                    OriginOut(kind=o.kind, source_id=o.source_id, source_name=o.source_name)
                    for o in f.origins
                ],
                sealed=sealer is not None,
            )
            for f in classification.listing()
        ],
    )


class PersonalFieldCache:
    """The classification for ingestion's sealing, reloaded every ``ttl`` seconds."""

    def __init__(
        self, db: Database, configured: Mapping[str, PersonalCategory], ttl: float
    ) -> None:
        self.db = db
        self.configured = dict(configured)
        self.ttl = ttl
        self._current = classify(self.configured)
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def stale(self) -> bool:
        return self._loaded_at is None or time.monotonic() - self._loaded_at >= self.ttl

    def refresh(self) -> None:
        with self._lock:
            if not self.stale():
                return
            with self.db.read() as session:
                self._current = personal_fields(session, self.configured)
            self._loaded_at = time.monotonic()

    @property
    def current(self) -> Classification:
        return self._current
