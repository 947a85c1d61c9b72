"""A small world for segment tests: a platform whose segments consumer reads a movable clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kizuna.config import Settings
from kizuna.identity.config import IdentityRules
from kizuna.identity.subscribers import identity_consumer
from kizuna.ingestion.rules import LogEntry, build_entry
from kizuna.kit.ids import new_message_id
from kizuna.pipeline.consumer import Consumer, Preparer
from kizuna.pipeline.log import LoggedEvent, SqlEventLog
from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.subscribers import consent_consumer
from kizuna.runtime import Platform
from kizuna.segments import service
from kizuna.segments.definitions import ComputedTraitDefinition, SegmentDefinition
from kizuna.segments.engine import segments_consumer
from tests.factories import make_source
from tests.support import append

RULES = IdentityRules()
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class World:
    """Events in, memberships out, on a clock the test moves."""

    def __init__(
        self,
        settings: Settings,
        now: datetime = T0,
        between: Callable[[World], None] | None = None,
    ) -> None:
        """``between``: run after the segments consumer has decided a batch on its read
        snapshot and before it writes it (another writer getting in first)."""
        self.clock = Clock(now)
        log = SqlEventLog(settings.pipeline.partitions)
        catalogue = ConsentCatalogue()
        segments = segments_consumer(RULES, catalogue, log, self.clock)
        if between is not None:
            segments = replace(segments, prepare=self._then(segments, between))
        self.segments = segments
        self.platform = Platform(
            settings,
            consumers=[
                identity_consumer(RULES, log),
                consent_consumer(catalogue, RULES),
                segments,
            ],
        )
        self.catalogue = catalogue
        self.platform.migrate()
        self.sources = {k: make_source(self.db, k, k) for k in ("web", "app", "store")}
        self.partitions = settings.pipeline.partitions

    def _then(self, segments: Consumer, between: Callable[[World], None]) -> Preparer:
        assert segments.prepare is not None
        prepare = segments.prepare

        def prepared(session: Session, events: Sequence[LoggedEvent]) -> Any:
            step = prepare(session, events)
            if step is not None:
                between(self)
            return step

        return prepared

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.platform.db

    def entry(self, at: datetime | None = None, channel: str = "web", **message: Any) -> LogEntry:
        message.setdefault("messageId", new_message_id())
        message.setdefault("type", "track")
        when = at or self.clock.now
        return build_entry(
            message,
            message_type=message["type"],
            name=message.get("event") if message["type"] == "track" else message.get("name"),
            sent_at=None,
            original_timestamp=when,
            batch_context=None,
            received_at=when,
            source_id=self.sources[channel].id,
            source_kind=channel,
            partitions=self.partitions,
            max_event_bytes=32 * 1024,
        )

    def append(self, *entries: LogEntry) -> None:
        append(self.db, self.platform.event_log, list(entries))

    def send(self, *entries: LogEntry) -> None:
        append(self.db, self.platform.event_log, list(entries))
        self.run()

    def run(self) -> None:
        self.platform.runner.run_until_idle()

    def segment(self, document: dict[str, Any]) -> str:
        with self.db.write() as session:
            row = service.create_segment(session, SegmentDefinition.model_validate(document))
            session.commit()
            segment_id = row.id
        self.run()
        return segment_id

    def computed_trait(self, document: dict[str, Any]) -> str:
        with self.db.write() as session:
            service.create_computed_trait(session, ComputedTraitDefinition.model_validate(document))
            session.commit()
        self.run()
        return str(document["key"])

    def members(self, segment_id: str) -> set[str]:
        with self.db.read() as session:
            return set(service.all_members(session, segment_id))

    def profile(self, user_id: str) -> str:
        with self.db.read() as session:
            from sqlalchemy import select

            from kizuna.models import IdentityNode

            query = select(IdentityNode.profile_id).where(
                IdentityNode.type == "user_id", IdentityNode.value == user_id
            )
            return str(session.scalar(query))

    def choose_consent(self, profile_id: str, granted: bool, *, at: datetime | None = None) -> None:
        """The person opts in or out of marketing email through the API (the ledger, no event
        in the log); ``at``: when the choice takes effect (now, in real time, by default)."""
        from kizuna.privacy.consent import ConsentChoice, record_for_profile

        with self.db.write() as session:
            choice = ConsentChoice("marketing", "email", granted, effective_at=at)
            record_for_profile(session, self.catalogue, RULES, profile_id, choice, actor="staff")
            session.commit()

    def stop(self) -> None:
        self.platform.stop()
