"""The ``segments`` consumer: computed traits and memberships kept current event by event.

For each batch (read only once identity and consent have handled it, so every event has its
profile and every consent event is in the ledger):

1. record the occurrences of the features the events pass, and re-project the traits of
   profiles whose events carried traits;
2. on ``profile.merged`` / ``profile.split``, move occurrences to their events' owners now and
   look at both profiles afresh (a merge can make a profile enter, a split make one leave);
3. for each touched profile, recompute the computed traits whose feature got an occurrence and
   re-evaluate, in dependency order, the segments that read something that changed (or that an
   empty profile would match: a newcomer must be looked at for "never did X");
4. write each change of membership with its history row and a ``segment.entered`` /
   ``segment.exited`` event appended to the log in the same transaction, and the earliest
   instant at which time alone could change an answer (``segment_timers``).

``tick`` runs between batches: it computes new or changed definitions in full (``recompute``)
and re-evaluates the profiles whose timers are due (a window sliding out without any event).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, delete, text, tuple_
from sqlalchemy.orm import Session

from kizuna.db import Database
from kizuna.identity.config import IdentityRules
from kizuna.ingestion.rules import LogEntry
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import BulkInsert, BulkUpdate, chunks, utc_param
from kizuna.models import SegmentChange, SegmentDefinitionRow, SegmentMember
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent, SqlEventLog
from kizuna.pipeline.system_events import SYSTEM_SOURCE, system_entry
from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.contact import may_contact_many
from kizuna.segments import catalogue
from kizuna.segments.aggregate import FAR, compute
from kizuna.segments.catalogue import CONSENT, IDENTIFIERS, Definitions
from kizuna.segments.evaluate import ProfileState, evaluate
from kizuna.segments.features import FeatureIndex
from kizuna.segments.history import insert_occurrences, millis, occurrence_rows, owners_of, reassign
from kizuna.segments.recompute import recompute_next
from kizuna.segments.service import consent_asker, profiles_due
from kizuna.segments.state import (
    CONSENT_WATERMARK,
    clear_timers,
    consent_recorded_since,
    drop_profiles,
    ledger_head,
    live_among,
    load_states,
    project_traits,
    set_timers,
    set_watermark,
    watermark,
    write_computed,
)

ALL = "*"  # a profile to look at afresh: every definition
MERGE_EVENTS = ("profile.merged", "profile.split")
DUE_BATCH = 500
WRITER_LOCK_KEY = 7_401_934  # identity holds 7_401_933, log appends 7_401_932
_MEMBERS = BulkInsert(SegmentMember, ("segment_id", "profile_id", "since"))
_MEMBER_COUNTS = BulkUpdate(SegmentDefinitionRow, "id", {"members": "add"})
_CHANGES = BulkInsert(
    SegmentChange,
    ("segment_id", "profile_id", "entered", "at", "cause", "cause_seq", "cause_received_at"),
)


@dataclass(frozen=True)
class Cause:
    kind: str  # event | merge | split | time | recompute
    seq: int | None = None
    received_at: datetime | None = None


@dataclass
class Touched:
    """What changed for each profile in one round, and why."""

    changed: dict[str, set[str]] = field(default_factory=dict)
    cause: dict[str, Cause] = field(default_factory=dict)

    def add(self, profile_id: str, what: Iterable[str], cause: Cause) -> None:
        self.changed.setdefault(profile_id, set()).update(what)
        self.cause[profile_id] = cause


@dataclass(frozen=True)
class MembershipChange:
    segment_id: str
    segment_name: str
    profile_id: str
    entered: bool
    cause: Cause


def one_writer(conn: Connection) -> None:
    """Several workers may share the log's partitions, and one person's events can sit in
    several: on PostgreSQL, segment state is written by one transaction at a time (SQLite has
    one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})


def _empty_matchers(defs: Definitions, now_ms: int) -> set[str]:
    empty = ProfileState("")
    found: set[str] = set()
    for s in defs.segments.values():
        hit, _ = evaluate(s.definition.condition, empty, now_ms)
        if hit:
            found.add(s.id)
        empty.segments |= {s.id} if hit else set()
    return found


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

    # --- events --------------------------------------------------------------------------

    def handle(self, session: Session, events: Sequence[LoggedEvent]) -> None:
        conn = session.connection()
        one_writer(conn)
        defs = catalogue.load(session)
        index = FeatureIndex(defs.features())
        now_ms = millis(self.clock())
        touched = Touched()
        people = [e for e in events if e.source_id != SYSTEM_SOURCE]
        owners = owners_of(conn, [e.seq for e in people]) if people else {}
        rows = []
        with_traits: set[str] = set()
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
            what = {r["feature"] for r in found} | {IDENTIFIERS, CONSENT}
            if e.type == "identify" or '"traits"' in e.payload:
                with_traits.add(owner)
                what.add(catalogue.TRAITS)
            touched.add(owner, what, Cause("event", e.seq, e.received_at))
        insert_occurrences(conn, rows)
        for e in events:
            if e.source_id == SYSTEM_SOURCE and e.name in MERGE_EVENTS:
                props = e.message.get("properties") or {}
                pair = [str(v) for k, v in props.items() if k.endswith("profile_id") and v]
                kind = "merge" if e.name == "profile.merged" else "split"
                for profile_id in reassign(conn, pair):
                    touched.add(profile_id, {ALL}, Cause(kind, e.seq, e.received_at))
                    with_traits.add(profile_id)
        live = live_among(conn, touched.changed)
        project_traits(session, self.rules, sorted(with_traits & live))
        self.refresh(session, defs, touched, now_ms)

    # --- evaluation ----------------------------------------------------------------------

    def refresh(self, session: Session, defs: Definitions, touched: Touched, now_ms: int) -> None:
        conn = session.connection()
        one_writer(conn)
        live = live_among(conn, touched.changed)
        gone = sorted(set(touched.changed) - live)
        ids = sorted(live)
        states = load_states(conn, ids + gone)
        changes: list[MembershipChange] = []
        for profile_id in gone:  # merged away or erased: leaves everything
            for segment_id in sorted(states[profile_id].segments):
                if segment_id in defs.segments:
                    name = defs.segments[segment_id].definition.name
                    cause = touched.cause[profile_id]
                    changes.append(MembershipChange(segment_id, name, profile_id, False, cause))
        drop_profiles(conn, gone)
        self._ask_consent(session, defs, states, ids)
        empty_matchers = _empty_matchers(defs, now_ms)
        computed_changes = []
        full_dues: dict[str, int] = {}
        partial_dues: dict[str, int] = {}
        for profile_id in ids:
            state, changed = states[profile_id], touched.changed[profile_id]
            everything = ALL in changed
            due = FAR
            for trait in defs.traits.values():
                if not trait.ready or not (everything or trait.feature.key in changed):
                    continue
                cell, trait_due = compute(
                    trait.definition, state.occurrences.get(trait.feature.key, []), now_ms
                )
                due = min(due, trait_due)
                if cell != state.computed.get(trait.key):
                    computed_changes.append((trait.key, profile_id, cell))
                    if cell is None:
                        state.computed.pop(trait.key, None)
                    else:
                        state.computed[trait.key] = cell
                    changed.add(f"ct:{trait.key}")
            for segment in defs.segments.values():
                if not segment.ready:
                    continue
                if not (everything or segment.needs & changed or segment.id in empty_matchers):
                    continue
                hit, segment_due = evaluate(segment.definition.condition, state, now_ms)
                due = min(due, segment_due)
                if hit != (segment.id in state.segments):
                    cause = touched.cause[profile_id]
                    name = segment.definition.name
                    changes.append(MembershipChange(segment.id, name, profile_id, hit, cause))
                    if hit:
                        state.segments.add(segment.id)
                    else:
                        state.segments.discard(segment.id)
                    changed.add(f"seg:{segment.id}")
            # a due instant is always ahead (an answer that flips at ``now`` is already given)
            (full_dues if everything else partial_dues)[profile_id] = max(due, now_ms + 1)
        write_computed(conn, computed_changes)
        set_timers(conn, {p: d for p, d in full_dues.items() if d < FAR}, replace=True)
        clear_timers(conn, [p for p, d in full_dues.items() if d >= FAR])
        set_timers(conn, {p: d for p, d in partial_dues.items() if d < FAR}, replace=False)
        self.write_changes(session, changes)

    def _ask_consent(
        self, session: Session, defs: Definitions, states: dict[str, ProfileState], ids: list[str]
    ) -> None:
        pairs = {pair for s in defs.segments.values() if s.ready for pair in s.consent_pairs}
        for purpose, channel in sorted(pairs):
            if not ids:
                break
            decisions = may_contact_many(session, self.consent, ids, purpose, channel)
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
        member = tuple_(SegmentMember.segment_id, SegmentMember.profile_id)
        for part in chunks(left, 500):
            conn.execute(delete(SegmentMember).where(member.in_(list(part))))
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
        description="Computed traits and segment memberships, kept current as events arrive.",
        follows=("identity", "consent"),
        tick=engine.tick,
        system_events=frozenset(MERGE_EVENTS),
    )
