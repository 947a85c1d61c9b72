"""What a consumer is: a name and an idempotent batch handler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kizuna.pipeline.log import LoggedEvent

if TYPE_CHECKING:
    from kizuna.db import Database

Handler = Callable[[Session, Sequence[LoggedEvent]], None]
# Decides a batch on a read snapshot; returns the step that writes the decision (False: the
# snapshot no longer stands and ``handle`` must run), or None to let ``handle`` do it all.
Preparer = Callable[[Session, Sequence[LoggedEvent]], Callable[[Session], bool] | None]
Tick = Callable[["Database"], int]


@dataclass(frozen=True)
class Consumer:
    """A reader of the log with its own committed offset.

    ``handle`` runs inside the transaction that also advances the consumer's offset, so on the
    SQL log an event's effects are committed exactly once: either the handler's writes and the
    new offset commit together, or neither does. Handlers with effects outside the database
    must make them idempotent (key them by ``event.seq`` or ``event.message_id``).

    ``follows``: consumers whose work this one reads; it only sees an event once each of them
    has handled it (on its partition). ``tick``: work that is due with time rather than with
    events, run between rounds with its own transactions; returns how much it did.
    ``prepare``: for consumers that read much and write little. The runner calls it in the
    read transaction that read the batch, outside SQLite's one write slot, and then runs what it
    returns in the write transaction (``handle`` when that says the snapshot has moved on).
    ``system_events``: the names of Kizuna's own events (``segment.entered``,
    ``profile.merged``...) the handler is given; None gives it all of them. The others are
    passed over unread, and the offset moves past them all the same.
    """

    name: str
    handle: Handler
    description: str = ""
    follows: tuple[str, ...] = ()
    tick: Tick | None = None
    system_events: frozenset[str] | None = None
    prepare: Preparer | None = None
