"""What a consumer is: a name and an idempotent batch handler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kizuna.pipeline.log import LoggedEvent

Handler = Callable[[Session, Sequence[LoggedEvent]], None]


@dataclass(frozen=True)
class Consumer:
    """A reader of the log with its own committed offset.

    ``handle`` runs inside the transaction that also advances the consumer's offset, so on the
    SQL log an event's effects are committed exactly once: either the handler's writes and the
    new offset commit together, or neither does. Handlers with effects outside the database
    must make them idempotent (key them by ``event.seq`` or ``event.message_id``).
    """

    name: str
    handle: Handler
    description: str = ""
