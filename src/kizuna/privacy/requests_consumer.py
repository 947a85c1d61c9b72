"""The ``privacy`` consumer: data subject requests run in the background, durably, from the log.

``privacy.request`` starts a request (pending → running) and appends ``privacy.request.run``;
that event does the work. Before it does, every event logged before the request must have been
resolved by the ``identity`` consumer, or the person's latest events would not be found through
their profile: when identity is behind, the step fails and the runner retries it with backoff
(and, past ``max_attempts``, leaves a dead letter whose replay runs it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from kizuna.identity.config import IdentityRules
from kizuna.models import Event
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent, SqlEventLog, SqlOffsetStore
from kizuna.privacy import requests
from kizuna.privacy.requests_events import REQUESTED, RUN, is_request_event
from kizuna.privacy.sealing import open_payload

IDENTITY_CONSUMER = "identity"


class IdentityBehind(RuntimeError):
    """Retried by the runner: identity has not resolved every event before the request yet."""


def identity_caught_up(conn: Connection, partitions: int, before_seq: int) -> bool:
    """Has the identity consumer handled every event with a smaller ``seq`` than this one?"""
    offsets = SqlOffsetStore()
    for partition in range(partitions):
        position = offsets.position(conn, IDENTITY_CONSUMER, partition)
        if position is None:
            return True  # no identity consumer in this deployment: nothing to wait for
        waiting = conn.execute(
            select(Event.seq)
            .where(Event.partition == partition, Event.seq > position, Event.seq < before_seq)
            .limit(1)
        ).first()
        if waiting is not None:
            return False
    return True


def handle_requests(
    session: Session,
    events: Sequence[LoggedEvent],
    rules: IdentityRules,
    log: SqlEventLog,
    sqlite_vacuum: str = "auto",
) -> None:
    for event in events:
        if not is_request_event(event):
            continue
        properties = open_payload(event.payload).get("properties") or {}
        request_id = str(properties.get("request_id", ""))
        if event.name == REQUESTED:
            requests.start(session, log, request_id, event.seq)
        elif event.name == RUN:
            after = int(properties.get("after_seq", event.seq))
            if not identity_caught_up(session.connection(), log.partitions, after):
                raise IdentityBehind(f"identity has not resolved every event before seq {after}")
            requests.run(session, rules, request_id, after, sqlite_vacuum=sqlite_vacuum)


def privacy_consumer(
    rules: IdentityRules, log: SqlEventLog, sqlite_vacuum: str = "auto"
) -> Consumer:
    """``sqlite_vacuum``: ``settings.privacy.sqlite_vacuum_after_erasure``."""

    def handle(session: Session, events: Sequence[LoggedEvent]) -> None:
        handle_requests(session, events, rules, log, sqlite_vacuum)

    return Consumer(
        name="privacy",
        handle=handle,
        description="Data subject requests (export, erasure, suppression) in the background.",
        system_events=frozenset({REQUESTED, RUN}),
    )
