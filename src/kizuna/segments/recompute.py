"""Computing a definition over every profile at once: when it is new or has changed.

Run by the ``segments`` consumer between batches (``SegmentsEngine.tick``), one definition at
a time, computed traits before segments and each segment after those it reads:

1. read the log's past for features no definition used before (``history.backfill``);
2. a computed trait: stream its feature's occurrences grouped by profile and aggregate; a
   segment: evaluate the condition over every live profile with the SQL compiler;
3. write the difference with the current values or members in chunks, each its own
   transaction, updating ``progress_done`` / ``progress_total`` on the definition's row so the
   console and the API show how far it has got;
4. set timers for windows that will slide, and mark the definition ready at the version it
   computed (a definition edited meanwhile is simply computed again).

A segment's first computation records its members as ``initial`` history without emitting
``segment.entered`` (a new audience is not a crowd of people who just did something); a
recompute after an edit emits the changes like the real-time path does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kizuna.db import Database
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import chunks
from kizuna.models import (
    ComputedTraitRow,
    ComputedTraitValue,
    SegmentDefinitionRow,
    SegmentMember,
    SegmentOccurrence,
    SegmentTraitValue,
)
from kizuna.segments import catalogue
from kizuna.segments.aggregate import FAR, Occurrence, compute
from kizuna.segments.compiler import Universe, members
from kizuna.segments.definitions import (
    ComputedTraitDefinition,
    Condition,
    PerformedNode,
    SegmentDefinition,
    SequenceNode,
    TraitNode,
    children,
)
from kizuna.segments.evaluate import _trait_due
from kizuna.segments.features import Feature, feature_of_trait, features_of_segment
from kizuna.segments.history import backfill, millis
from kizuna.segments.state import set_timers, write_computed
from kizuna.segments.values import Cell, time_dependent

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kizuna.segments.engine import SegmentsEngine

WRITE_CHUNK = 5_000
Model = type[SegmentDefinitionRow] | type[ComputedTraitRow]


def _key_column(model: Model) -> Any:
    return SegmentDefinitionRow.id if model is SegmentDefinitionRow else ComputedTraitRow.key


def _pending(row: SegmentDefinitionRow | ComputedTraitRow) -> bool:
    """Waiting to be computed (a ``failed`` one waits for an edit or an explicit recompute)."""
    return row.status != "failed" and (row.status != "ready" or row.computed_version != row.version)


def recompute_next(db: Database, engine: SegmentsEngine) -> bool:
    """Compute the next definition that needs it; False when every one is ready or failed.

    A definition whose computation raises is marked ``failed`` (and logged) so that it cannot
    hold up the others, the timers and the consent watch behind it."""
    try:
        return _recompute_next(db, engine)
    except _Failed as failure:
        log.exception("computing %s failed; marked failed", failure.key)
        with db.write() as session:
            column = _key_column(failure.model)
            session.execute(
                update(failure.model).where(column == failure.key).values(status="failed")
            )
            session.commit()
        return True


class _Failed(Exception):
    def __init__(self, model: Model, key: str) -> None:
        super().__init__(key)
        self.model, self.key = model, key


def _recompute_next(db: Database, engine: SegmentsEngine) -> bool:
    with db.read() as session:
        broken = catalogue.unreadable(session)
    if broken:
        kind, which = broken[0]
        raise _Failed(SegmentDefinitionRow if kind == "segment" else ComputedTraitRow, which)
    key: str | None = None
    with db.read() as session:
        for trait in session.scalars(select(ComputedTraitRow).order_by(ComputedTraitRow.key)):
            if _pending(trait):
                key = trait.key
                break
        if key is None:
            defs = catalogue.load(session)
            rows = {r.id: r for r in session.scalars(select(SegmentDefinitionRow))}
            waiting = [sid for sid in defs.segments if _pending(rows[sid])]
    if key is not None:
        try:
            recompute_trait(db, engine, key)
        except Exception as exc:
            raise _Failed(ComputedTraitRow, key) from exc
        return True
    if waiting:
        try:
            recompute_segment(db, engine, waiting[0])
        except Exception as exc:
            raise _Failed(SegmentDefinitionRow, waiting[0]) from exc
        return True
    return False


def _progress(db: Database, model: Model, key: str, done: int, total: int) -> None:
    with db.write() as session:
        _commit_progress(session, model, key, done, total)


def _commit_progress(session: Session, model: Model, key: str, done: int, total: int) -> None:
    column = _key_column(model)
    session.execute(
        update(model).where(column == key).values(progress_done=done, progress_total=total)
    )
    session.commit()


def _backfill(db: Database, model: Model, key: str, features: Sequence[Feature]) -> None:
    with db.write() as session:
        backfill(session, features, lambda d, t: _commit_progress(session, model, key, d, t))
        session.commit()


def _finish(db: Database, model: Model, key: str, version: int, **values: Any) -> bool:
    """Mark ready at ``version`` unless the definition changed meanwhile."""
    with db.write() as session:
        column = _key_column(model)
        result = session.execute(
            update(model)
            .where(column == key, model.version == version)
            .values(status="ready", computed_version=version, computed_at=utcnow(), **values)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


# --- computed traits -----------------------------------------------------------------------


def _grouped(session: Session, feature: str) -> Iterator[tuple[str, list[Occurrence]]]:
    o = SegmentOccurrence
    query = (
        select(o.profile_id, o.at_ms, o.seq, o.number, o.text, o.value)
        .where(o.feature == feature)
        .order_by(o.profile_id)
        .execution_options(yield_per=20_000)
    )
    current: str | None = None
    rows: list[Occurrence] = []
    for profile_id, at_ms, seq, number, text, value in session.execute(query):
        if profile_id != current:
            if current is not None:
                yield current, rows
            current, rows = profile_id, []
        rows.append(Occurrence(int(at_ms), int(seq), number, text, value))
    if current is not None:
        yield current, rows


def recompute_trait(db: Database, engine: SegmentsEngine, key: str) -> None:
    with db.read() as session:
        row = session.get(ComputedTraitRow, key)
        if row is None:
            return
        version = row.version
        d = ComputedTraitDefinition.model_validate_json(row.definition)
    feature = feature_of_trait(d)
    _backfill(db, ComputedTraitRow, key, [feature])
    now_ms = millis(engine.clock())
    values: dict[str, Cell] = {}
    dues: dict[str, int] = {}
    with db.read() as session:
        for profile_id, rows in _grouped(session, feature.key):
            cell, due = compute(d, rows, now_ms)
            if cell is not None:
                values[profile_id] = cell
            if due < FAR:
                dues[profile_id] = due
        c = ComputedTraitValue
        query = select(c.profile_id, c.number, c.text, c.value).where(c.key == key)
        old = {p: Cell(n, t, v) for p, n, t, v in session.execute(query)}
    changes: list[tuple[str, str, Cell | None]] = [
        (key, p, cell) for p, cell in values.items() if old.get(p) != cell
    ] + [(key, p, None) for p in old.keys() - values.keys()]
    for i, part in enumerate(chunks(changes, WRITE_CHUNK)):
        with db.write() as session:
            write_computed(session.connection(), list(part))
            session.commit()
        _progress(db, ComputedTraitRow, key, min((i + 1) * WRITE_CHUNK, len(changes)), len(changes))
    with db.write() as session:
        set_timers(session.connection(), dues, replace=False)
        # segments that read this trait are computed again with its new values
        for segment in catalogue.load(session).segments.values():
            if f"ct:{key}" in segment.needs:
                session.execute(
                    update(SegmentDefinitionRow)
                    .where(SegmentDefinitionRow.id == segment.id)
                    .values(status="computing")
                )
        session.commit()
    _finish(db, ComputedTraitRow, key, version)


# --- segments ------------------------------------------------------------------------------


def _nodes(node: Condition) -> Iterator[Condition]:
    yield node
    for child in children(node):
        yield from _nodes(child)


def segment_timers(session: Session, d: SegmentDefinition, now_ms: int) -> dict[str, int]:
    """For every profile, the earliest instant time alone could change one of its answers."""
    o = SegmentOccurrence
    dues: dict[str, int] = {}

    def earliest(query: Any, plus: int) -> None:
        for profile_id, at_ms in session.execute(query):
            due = int(at_ms) + plus
            if due > now_ms and due < dues.get(profile_id, FAR):
                dues[profile_id] = due

    for node in _nodes(d.condition):
        if isinstance(node, PerformedNode) and node.within is not None:
            w = node.within.seconds * 1000
            key = Feature.of(node.filter).key
            earliest(
                select(o.profile_id, func.min(o.at_ms))
                .where(o.feature == key, o.at_ms >= now_ms - w)
                .group_by(o.profile_id),
                w + 1,
            )
        elif isinstance(node, SequenceNode):
            key = Feature.of(node.first).key
            if node.then_not is not None:
                gap = node.within.seconds * 1000
                earliest(
                    select(o.profile_id, func.min(o.at_ms))
                    .where(o.feature == key, o.at_ms > now_ms - gap)
                    .group_by(o.profile_id),
                    gap,
                )
            if node.first_within is not None:
                fw = node.first_within.seconds * 1000
                earliest(
                    select(o.profile_id, func.min(o.at_ms))
                    .where(o.feature == key, o.at_ms >= now_ms - fw)
                    .group_by(o.profile_id),
                    fw + 1,
                )
        elif isinstance(node, TraitNode) and time_dependent(node):
            t = SegmentTraitValue
            query = select(t.profile_id, t.number, t.text, t.value).where(t.path == node.path)
            for profile_id, number, text, value in session.execute(query):
                due = _trait_due(Cell(number, text, value), node)
                if now_ms < due < dues.get(profile_id, FAR):
                    dues[profile_id] = due
    return dues


def recompute_segment(db: Database, engine: SegmentsEngine, segment_id: str) -> None:
    from kizuna.segments.engine import Cause, MembershipChange

    with db.read() as session:
        row = session.get(SegmentDefinitionRow, segment_id)
        if row is None:
            return
        version, initial, name = row.version, row.computed_version == 0, row.name
        d = catalogue._segment(row)
    _backfill(db, SegmentDefinitionRow, segment_id, features_of_segment(d))
    now_ms = millis(engine.clock())
    with db.read() as session:
        target = members(d.condition, Universe(session, now_ms, engine.consent_ask))
        query = select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment_id)
        current = set(session.scalars(query))
        dues = segment_timers(session, d, now_ms)
    cause = Cause("initial" if initial else "recompute")
    changes = [MembershipChange(segment_id, name, p, True, cause) for p in sorted(target - current)]
    changes += [
        MembershipChange(segment_id, name, p, False, cause) for p in sorted(current - target)
    ]
    total = len(changes)
    _progress(db, SegmentDefinitionRow, segment_id, 0, total)
    for i, part in enumerate(chunks(changes, WRITE_CHUNK)):
        with db.write() as session:
            engine.write_changes(session, list(part), emit=not initial)
            session.commit()
        _progress(db, SegmentDefinitionRow, segment_id, min((i + 1) * WRITE_CHUNK, total), total)
    with db.write() as session:
        set_timers(session.connection(), dues, replace=False)
        session.commit()
    _finish(db, SegmentDefinitionRow, segment_id, version, members=len(target))
