"""The states of the profiles the engine looked at last, kept in memory between batches.

Reading a profile's state (occurrences, traits, computed values, memberships) is most of what
deciding a batch costs, and the engine is the one that wrote it. So the states it decided are
kept, least recently used out, and handed back for the next batch instead of being read again,
for as long as nothing else can have changed them:

- every transaction that writes segment state counts itself (``state.bump_state_version``: the
  engine's own batches and ticks, the API's edits and deletes, erasure, backfills), and the
  cache holds the count its last write committed: any other count empties it;
- a change of definitions (another ``Definitions`` stamp) empties it;
- the states are put back only once the transaction that wrote them has committed (a rolled
  back batch leaves its profiles out, to be read again);
- identifiers are identity's: a profile's identifier types are read again whenever identity may
  have given it another (the engine marks those profiles ``IDENTIFIERS``), and consent is
  asked of the ledger each time it is read, never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

from sqlalchemy import event
from sqlalchemy.orm import Session

from kizuna.segments.evaluate import ProfileState

CAPACITY = 50_000  # profiles; about 2 KB each in the bench's population (bench/segments.py)


class StateCache:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._states: OrderedDict[str, ProfileState] = OrderedDict()
        self._version: int | None = None
        self._stamp: object = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._states)

    def take(self, version: int, stamp: object, ids: Sequence[str]) -> dict[str, ProfileState]:
        """The kept states of ``ids`` at this state version, removed from the cache (the caller
        changes them; ``keep_after_commit`` puts them back)."""
        if version != self._version or stamp != self._stamp:
            self.clear()
            self.misses += len(ids)
            return {}
        found = {}
        for profile_id in ids:
            state = self._states.pop(profile_id, None)
            if state is not None:
                found[profile_id] = state
        self.hits += len(found)
        self.misses += len(ids) - len(found)
        return found

    def keep_after_commit(
        self, session: Session, version: int, stamp: object, states: Iterable[ProfileState]
    ) -> None:
        """Once ``session`` commits (at state version ``version``), keep these states."""
        kept = list(states)

        def committed(_: Session) -> None:
            self._keep(version, stamp, kept)

        event.listen(session, "after_commit", committed, once=True)

    def clear(self) -> None:
        self._states.clear()
        self._version = None

    def _keep(self, version: int, stamp: object, states: list[ProfileState]) -> None:
        self._version, self._stamp = version, stamp
        for state in states:
            state.consent.clear()  # asked again whenever a condition reads it
            self._states[state.profile_id] = state
            self._states.move_to_end(state.profile_id)
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)
