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
