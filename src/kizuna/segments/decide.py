"""One round of real-time evaluation, without I/O. Pure.

Given the state of each touched profile and what changed for it, ``decide`` says which
computed values change, which memberships change (and why), and when each profile must be
looked at again because time alone could change an answer. The engine reads the states and
writes the decision; keeping the two apart lets it decide outside SQLite's one write slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kizuna.segments.aggregate import FAR, compute
from kizuna.segments.catalogue import Definitions
from kizuna.segments.evaluate import ProfileState, evaluate
from kizuna.segments.values import Cell

ALL = "*"  # a profile to look at afresh: every definition


@dataclass(frozen=True)
class Cause:
    kind: str  # event | merge | split | time | consent | initial | recompute
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


@dataclass
class Decision:
    computed: list[tuple[str, str, Cell | None]] = field(default_factory=list)  # key, profile
    due_afresh: dict[str, int] = field(default_factory=dict)  # profiles looked at in full
    due_sooner: dict[str, int] = field(default_factory=dict)  # the earlier of stored and this
    changes: list[MembershipChange] = field(default_factory=list)


def decide(
    defs: Definitions,
    states: Mapping[str, ProfileState],
    touched: Touched,
    live: Sequence[str],
    gone: Sequence[str],
    now_ms: int,
) -> Decision:
    """``states`` holds every profile of ``live`` and ``gone`` (merged away or erased: they
    leave everything). Each live profile's computed traits whose feature changed are computed
    again, then, in dependency order, the segments reading anything that changed (everything,
    for a profile marked ``ALL``: one met for the first time, merged, split, or due)."""
    decision = Decision()
    for profile_id in gone:
        cause = touched.cause[profile_id]
        for segment_id in sorted(states[profile_id].segments):
            if segment_id in defs.segments:
                name = defs.segments[segment_id].definition.name
                decision.changes.append(
                    MembershipChange(segment_id, name, profile_id, False, cause)
                )
    for profile_id in live:
        state, changed = states[profile_id], touched.changed[profile_id]
        everything = ALL in changed
        due = FAR
        for trait in defs.traits.values():
            if not trait.ready or not (everything or trait.feature.key in changed):
                continue
            rows = state.occurrences.get(trait.feature.key, [])
            cell, trait_due = compute(trait.definition, rows, now_ms)
            due = min(due, trait_due)
            if cell != state.computed.get(trait.key):
                decision.computed.append((trait.key, profile_id, cell))
                if cell is None:
                    state.computed.pop(trait.key, None)
                else:
                    state.computed[trait.key] = cell
                changed.add(f"ct:{trait.key}")
        for segment in defs.segments.values():
            if not segment.ready:
                continue
            if not (everything or segment.needs & changed):
                continue
            hit, segment_due = evaluate(segment.definition.condition, state, now_ms)
            due = min(due, segment_due)
            if hit != (segment.id in state.segments):
                cause, name = touched.cause[profile_id], segment.definition.name
                decision.changes.append(MembershipChange(segment.id, name, profile_id, hit, cause))
                if hit:
                    state.segments.add(segment.id)
                else:
                    state.segments.discard(segment.id)
                changed.add(f"seg:{segment.id}")
        # a due instant is always ahead (an answer that flips at ``now`` is already given)
        dues = decision.due_afresh if everything else decision.due_sooner
        dues[profile_id] = max(due, now_ms + 1)
    return decision
