"""The ``segments`` consumer: computed traits and memberships kept current event by event.

For each batch (read only once identity and consent have handled it, so every event has its
profile and every consent event is in the ledger):

1. find the occurrences of the features the events pass, and project again the traits of
   profiles whose events carried traits;
2. on ``profile.merged`` / ``profile.split``, move occurrences to their events' owners now and
   look at both profiles afresh (a merge can make a profile enter, a split make one leave);
3. for each touched profile, recompute the computed traits whose feature got an occurrence and
   re-evaluate, in dependency order, the segments that read something that changed (or that an
   empty profile would match: a newcomer must be looked at for "never did X"): ``decide``;
4. write the occurrences, traits and computed values, each change of membership with its
   history row and a ``segment.entered`` / ``segment.exited`` event appended to the log in the
   same transaction, and the earliest instant at which time alone could change an answer
   (``segment_timers``).

Steps 1 and 3 only read. On SQLite every writer queues for one write slot (ingestion's group
commits and every consumer), so the runner lets this consumer *prepare* a batch on a read
snapshot and hold the slot only to write what it decided. The write first checks that the
snapshot still stands (no other transaction wrote segment state, every event still belongs to
the profile it was read with, every touched profile is still live, the definitions are the
same); otherwise the batch is handled again inside the write transaction. Batches with merges
or splits are always handled there.

``tick`` runs between batches: it computes new or changed definitions in full (``recompute``)
and re-evaluates the profiles whose timers are due (a window sliding out without any event).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, text
from sqlalchemy.orm import Session

from kizuna.db import Database
from kizuna.identity.config import IdentityRules
from kizuna.ingestion.rules import LogEntry
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import BulkInsert, BulkUpdate, chunks, pairs_in, utc_param
from kizuna.models import SegmentChange, SegmentDefinitionRow, SegmentMember
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent, SqlEventLog
from kizuna.pipeline.system_events import SYSTEM_SOURCE, system_entry
from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.contact import may_contact_many
from kizuna.segments import catalogue
from kizuna.segments.aggregate import FAR, Occurrence
from kizuna.segments.cache import StateCache
from kizuna.segments.catalogue import CONSENT, IDENTIFIERS, Definitions
from kizuna.segments.decide import ALL, Cause, Decision, MembershipChange, Touched, decide
from kizuna.segments.evaluate import ProfileState
from kizuna.segments.features import FeatureIndex
from kizuna.segments.history import (
    insert_occurrences,
    millis,
    occurrence_rows,
    owners_and_sightings,
    owners_of,
    reassign,
)
from kizuna.segments.recompute import recompute_next
from kizuna.segments.service import consent_asker, profiles_due
from kizuna.segments.state import (
    CONSENT_WATERMARK,
    bump_state_version,
    clear_timers,
    consent_recorded_since,
    drop_profiles,
    identifier_types,
    known_among,
    ledger_head,
    live_among,
    load_states,
    projected_traits,
    remember,
    set_timers,
    set_watermark,
    state_version,
    watermark,
    write_computed,
    write_traits,
)
from kizuna.segments.values import Cell

__all__ = ["ALL", "Cause", "MembershipChange", "SegmentsEngine", "Touched", "segments_consumer"]

MERGE_EVENTS = ("profile.merged", "profile.split")
DUE_BATCH = 500
WRITER_LOCK_KEY = 7_401_934  # identity holds 7_401_933, log appends 7_401_932
_MEMBERS = BulkInsert(SegmentMember, ("segment_id", "profile_id", "since"))
_MEMBER_COUNTS = BulkUpdate(SegmentDefinitionRow, "id", {"members": "add"})
_CHANGES = BulkInsert(
    SegmentChange,
    ("segment_id", "profile_id", "entered", "at", "cause", "cause_seq", "cause_received_at"),
)


def one_writer(conn: Connection) -> None:
    """Several workers may share the log's partitions, and one person's events can sit in
    several: on PostgreSQL, segment state is written by one transaction at a time (SQLite has
    one writer anyway). Every such transaction counts itself (``bump_state_version``)."""
    wait_for_writers(conn)
    bump_state_version(conn)


def wait_for_writers(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})


@dataclass
class Plan:
    """What one batch decided, and what it read to decide it."""

    defs: Definitions
    version: int  # state_version of the snapshot
    owners: dict[int, str]  # event seq -> profile
    live: list[str]
    gone: list[str]
    occurrences: list[dict[str, Any]]
    traits: dict[str, dict[str, Cell]]  # profiles whose traits were projected again
    newcomers: list[str]  # live profiles the engine meets for the first time
    decision: Decision = field(default_factory=Decision)
    states: dict[str, ProfileState] = field(default_factory=dict)  # as decided


class SegmentsEngine:
    def __init__(
        self,
        rules: IdentityRules,
        consent: ConsentCatalogue,
        log: SqlEventLog | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.clock = clock  # tests move time forward to watch windows slide
        self.rules = rules
        self.consent = consent
        self.consent_ask = consent_asker(consent)
        self.log = log
        self.cache = StateCache()

    # --- events --------------------------------------------------------------------------

    def handle(self, session: Session, events: Sequence[LoggedEvent]) -> None:
        """A batch inside the write transaction (merges and splits move occurrences first)."""
        conn = session.connection()
        one_writer(conn)
        self.cache.clear()  # merges move occurrences; a stale snapshot: read everything again
        touched, with_traits = Touched(), set()
        for e in events:
            if e.source_id == SYSTEM_SOURCE and e.name in MERGE_EVENTS:
                props = e.message.get("properties") or {}
                pair = [str(v) for k, v in props.items() if k.endswith("profile_id") and v]
                kind = "merge" if e.name == "profile.merged" else "split"
                for profile_id in reassign(conn, pair):
                    touched.add(profile_id, {ALL}, Cause(kind, e.seq, e.received_at))
                    with_traits.add(profile_id)
        self.write(session, self.plan(session, events, touched, with_traits))

    def prepare(
        self, session: Session, events: Sequence[LoggedEvent]
    ) -> Callable[[Session], bool] | None:
        """Decide a batch on the runner's read snapshot; the returned step writes it, or says
        False when the snapshot no longer stands (the runner then calls ``handle``)."""
        if any(e.source_id == SYSTEM_SOURCE and e.name in MERGE_EVENTS for e in events):
            return None
        plan = self.plan(session, events, Touched(), set())

        def apply(write_session: Session) -> bool:
            if not self._still_stands(write_session, plan):
                return False
            self.write(write_session, plan)
            return True

        return apply

    def _still_stands(self, session: Session, plan: Plan) -> bool:
        conn = session.connection()
        wait_for_writers(conn)
        return (
            state_version(conn) == plan.version
            and catalogue.load(session) is plan.defs
            and owners_of(conn, list(plan.owners)) == plan.owners
            and live_among(conn, plan.live + plan.gone) == set(plan.live)
        )

    def plan(
        self,
        session: Session,
        events: Sequence[LoggedEvent],
        touched: Touched,
        with_traits: set[str],
    ) -> Plan:
        """Read what the batch's profiles are and decide what changes; writes nothing."""
        conn = session.connection()
        version = state_version(conn)
        defs = catalogue.load(session)
        index = FeatureIndex(defs.features())
        now_ms = millis(self.clock())
        people = [e for e in events if e.source_id != SYSTEM_SOURCE]
        owners, sighted = owners_and_sightings(conn, [e.seq for e in people])
        rows = []
        for e in people:
            owner = owners.get(e.seq)
            if owner is None:
                continue
            found = occurrence_rows(
                index, seq=e.seq, message_type=e.type, name=e.name, channel=e.channel,
                source_id=e.source_id, at_ms=millis(e.timestamp), payload=e.payload,
                owner=owner, now_ms=now_ms,
            )  # fmt: skip
            rows += found
            what = {r["feature"] for r in found}
            if e.seq in sighted:  # a new identifier may also bring consent recorded for it
                what |= {IDENTIFIERS, CONSENT}
            elif "onsent" in e.payload:  # Segment's consent context, Consent Updated
                what.add(CONSENT)
            if e.type == "identify" or '"traits"' in e.payload:
                with_traits.add(owner)
                what.add(catalogue.TRAITS)
            touched.add(owner, what, Cause("event", e.seq, e.received_at))
        live = live_among(conn, touched.changed)
        newcomers = _newcomers(conn, touched, live)
        plan = Plan(
            defs=defs,
            version=version,
            owners=owners,
            live=sorted(live),
            gone=sorted(set(touched.changed) - live),
            occurrences=rows,
            traits=projected_traits(session, self.rules, sorted(with_traits & live)),
            newcomers=newcomers,
        )
        if not defs.segments and not defs.traits:
            return plan  # nothing to decide (the projected traits and newcomers still count)
        states = self._states(conn, defs, version, plan.live + plan.gone, touched)
        plan.states = states
        _overlay(states, rows, plan.traits)
        self._ask_consent(session, defs, states, touched)
        plan.decision = decide(defs, states, touched, plan.live, plan.gone, now_ms)
        return plan

    def write(self, session: Session, plan: Plan) -> None:
        conn = session.connection()
        one_writer(conn)
        insert_occurrences(conn, plan.occurrences)
        write_traits(conn, plan.traits)
        remember(conn, plan.newcomers)
        self.write_decision(session, plan.gone, plan.decision)
        self._keep(session, plan.defs, plan.states, plan.live)

    # --- evaluation ----------------------------------------------------------------------

    def refresh(self, session: Session, defs: Definitions, touched: Touched, now_ms: int) -> None:
        """Look at some profiles again inside a write transaction (time, consent)."""
        conn = session.connection()
        wait_for_writers(conn)
        version = state_version(conn)
        live = live_among(conn, touched.changed)
        remember(conn, _newcomers(conn, touched, live))
        ids, gone = sorted(live), sorted(set(touched.changed) - live)
        states = self._states(conn, defs, version, ids + gone, touched)
        self._ask_consent(session, defs, states, touched)
        self.write_decision(session, gone, decide(defs, states, touched, ids, gone, now_ms))
        self._keep(session, defs, states, ids)

    def _states(
        self,
        conn: Connection,
        defs: Definitions,
        version: int,
        profile_ids: Sequence[str],
        touched: Touched,
    ) -> dict[str, ProfileState]:
        """The profiles' states: kept from the last batch where the cache has them (their
        identifier types read again where identity may have added one), the others read."""
        states = self.cache.take(version, defs.stamp, profile_ids)
        kept = [p for p in states if touched.changed.get(p, set()) & {IDENTIFIERS, ALL}]
        for profile_id, types in identifier_types(conn, kept).items():
            states[profile_id].identifier_types = types
        states.update(load_states(conn, [p for p in profile_ids if p not in states]))
        return states

    def _keep(
        self,
        session: Session,
        defs: Definitions,
        states: dict[str, ProfileState],
        live: Sequence[str],
    ) -> None:
        """The states as decided, kept for the next batch once this transaction commits."""
        version = state_version(session.connection())  # this transaction's own count included
        chosen = [states[p] for p in live if p in states]
        self.cache.keep_after_commit(session, version, defs.stamp, chosen)

    def write_decision(self, session: Session, gone: Sequence[str], decision: Decision) -> None:
        conn = session.connection()
        one_writer(conn)
        drop_profiles(conn, list(gone))
        write_computed(conn, decision.computed)
        afresh = decision.due_afresh
        set_timers(conn, {p: d for p, d in afresh.items() if d < FAR}, replace=True)
        clear_timers(conn, [p for p, d in afresh.items() if d >= FAR])
        sooner = decision.due_sooner
        set_timers(conn, {p: d for p, d in sooner.items() if d < FAR}, replace=False)
        self.write_changes(session, decision.changes)

    def _ask_consent(
        self,
        session: Session,
        defs: Definitions,
        states: dict[str, ProfileState],
        touched: Touched,
    ) -> None:
        """What the consent ledger says now, for the profiles a segment reading consent may be
        evaluated for (the state read from the database holds no consent)."""
        triggers = defs.consent_triggers | {ALL}
        asked = sorted(p for p, what in touched.changed.items() if what & triggers)
        asked = [p for p in asked if p in states]
        pairs = {pair for s in defs.segments.values() if s.ready for pair in s.consent_pairs}
        for purpose, channel in sorted(pairs):
            if not asked:
                break
            decisions = may_contact_many(session, self.consent, asked, purpose, channel)
            for profile_id, decision in decisions.items():
                states[profile_id].consent[(purpose, channel)] = decision.allowed

    # --- writing -------------------------------------------------------------------------

    def write_changes(
        self, session: Session, changes: Sequence[MembershipChange], *, emit: bool = True
    ) -> None:
        if not changes:
            return
        conn = session.connection()
        one_writer(conn)
        now = self.clock()
        at = utc_param(conn.dialect.name)
        stamp = at(now)
        _MEMBERS.run(conn, [(c.segment_id, c.profile_id, stamp) for c in changes if c.entered])
        left = [(c.segment_id, c.profile_id) for c in changes if not c.entered]
        for part in chunks(left, 500):
            member = pairs_in(SegmentMember.segment_id, SegmentMember.profile_id, part)
            conn.execute(delete(SegmentMember).where(member))
        _CHANGES.run(
            conn,
            [
                (c.segment_id, c.profile_id, c.entered, stamp, c.cause.kind, c.cause.seq,
                 None if c.cause.received_at is None else at(c.cause.received_at))
                for c in changes
            ],
        )  # fmt: skip
        delta: dict[str, int] = {}
        for c in changes:
            delta[c.segment_id] = delta.get(c.segment_id, 0) + (1 if c.entered else -1)
        _MEMBER_COUNTS.run(conn, [(s, n) for s, n in delta.items() if n])
        if emit and self.log is not None:
            entries = [self._entry(c, now) for c in changes]
            self.log.lock_for_append(conn)
            self.log.append(conn, entries)

    def _entry(self, c: MembershipChange, now: datetime) -> LogEntry:
        assert self.log is not None
        properties = {
            "segment_id": c.segment_id,
            "segment_name": c.segment_name,
            "profile_id": c.profile_id,
            "cause": c.cause.kind,
            "cause_seq": c.cause.seq,
        }
        name = "segment.entered" if c.entered else "segment.exited"
        return system_entry(name, properties, self.log.partitions, "segments", now)

    # --- time ----------------------------------------------------------------------------

    def tick(self, db: Database) -> int:
        """Definitions to compute, consent recorded outside events, then profiles whose time
        has come; returns the work done."""
        if recompute_next(db, self):
            return 1
        return self._consent_recorded(db) + self._time_passed(db)

    def _consent_recorded(self, db: Database) -> int:
        """Consent recorded by the API, the console or a preference centre is no event of the
        log: the ledger is followed by its row ids, and each person it names is looked at."""
        with db.read() as session:
            after = watermark(session, CONSENT_WATERMARK)
            found = [] if after is None else consent_recorded_since(session, after, DUE_BATCH)
        if after is None:  # first start: the ledger so far is in every definition's recompute
            with db.write() as session:
                set_watermark(session, CONSENT_WATERMARK, ledger_head(session))
                session.commit()
            return 0
        if not found:
            return 0
        touched = Touched()
        for profile_id in {p for _, p in found if p is not None}:
            touched.add(profile_id, {CONSENT}, Cause("consent"))
        with db.write() as session:
            self.refresh(session, catalogue.load(session), touched, millis(self.clock()))
            set_watermark(session, CONSENT_WATERMARK, max(i for i, _ in found))
            session.commit()
        return len(found)

    def _time_passed(self, db: Database) -> int:
        with db.read() as session:
            due = profiles_due(session, DUE_BATCH, millis(self.clock()))
        if not due:
            return 0
        touched = Touched()
        for profile_id in due:
            touched.add(profile_id, {ALL}, Cause("time"))
        with db.write() as session:
            self.refresh(session, catalogue.load(session), touched, millis(self.clock()))
            session.commit()
        return len(due)


def segments_consumer(
    rules: IdentityRules,
    consent: ConsentCatalogue,
    log: SqlEventLog | None,
    clock: Callable[[], datetime] = utcnow,
) -> Consumer:
    engine = SegmentsEngine(rules, consent, log, clock)
    return Consumer(
        name="segments",
        handle=engine.handle,
        prepare=engine.prepare,
        description="Computed traits and segment memberships, kept current as events arrive.",
        follows=("identity", "consent"),
        tick=engine.tick,
        system_events=frozenset(MERGE_EVENTS),
    )


def _overlay(
    states: dict[str, ProfileState],
    occurrences: Sequence[dict[str, Any]],
    traits: dict[str, dict[str, Cell]],
) -> None:
    """The batch's own occurrences and projected traits, on the states read before they are
    written (an occurrence already stored, from a batch handled before, is not counted twice)."""
    for r in occurrences:
        state = states.get(r["profile_id"])
        if state is None:
            continue
        rows = state.occurrences.setdefault(r["feature"], [])
        if all(o.seq != r["seq"] for o in rows):
            rows.append(Occurrence(r["at_ms"], r["seq"], r["number"], r["text"], r["value"]))
    for profile_id, cells in traits.items():
        if profile_id in states:
            states[profile_id].traits = dict(cells)


def _newcomers(conn: Connection, touched: Touched, live: set[str]) -> list[str]:
    """Live profiles the engine has not looked at in full before: marked to be (``ALL``)."""
    found = sorted(live - known_among(conn, sorted(live)))
    for profile_id in found:
        touched.add(profile_id, {ALL}, touched.cause[profile_id])
    return found
