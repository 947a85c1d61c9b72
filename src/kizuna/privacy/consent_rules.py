"""May we contact this person for this purpose on this channel? Pure: ledger rows in, answer out.

The rule, the same for one person's history and for two people merged into one:

1. A *no* stands until the person gives a newer *explicit* yes (legal basis ``consent``, their
   own act). A later soft opt-in (legitimate interest, a purchase) never overrides an opt-out.
2. Otherwise a yes allows; in an ``opt_in`` group only an explicit yes does (the law asks
   for the person's own consent there, and a yes that is not explicit, such as one from a
   browser's public write key, must not be enough).
3. With no decision at all, the group's semantics decide: ``opt_in`` groups say no
   (``not_opted_in``), ``opt_out`` groups say yes (``default``).

So when profiles merge, conflicting consent resolves to the most restrictive choice unless a
newer explicit opt-in exists: the ledgers are simply put together and the rule applied. The
answer depends only on the set of rows (never on their order), so a merge is commutative and
a split gives each side back exactly its own answer.

Rows whose channel is ``all`` count for every channel of their purpose; rows with an
``address`` (one inbox, one phone, one device) count only for that address when the question
names one, and always when it does not (a question about "the person" hears every no).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kizuna.privacy.consent_config import Group


@dataclass(frozen=True, slots=True)
class Choice:
    """One ledger row as the rule needs it."""

    purpose: str
    channel: str
    granted: bool
    explicit: bool
    at: datetime
    address: str | None = None
    row_id: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str  # opted_in | opted_out | not_opted_in | default | suppressed
    since: datetime | None = None
    row_id: int | None = None


def _applies(choice: Choice, group: Group, address: str | None) -> bool:
    if choice.purpose != group.purpose or choice.channel not in (group.channel, "all"):
        return False
    return address is None or choice.address is None or choice.address == address


def _latest(choices: list[Choice]) -> Choice:
    return max(choices, key=lambda c: (c.at, c.row_id))


def decide(
    choices: Iterable[Choice],
    group: Group,
    *,
    address: str | None = None,
    suppressed: bool = False,
) -> Decision:
    if suppressed:
        return Decision(False, "suppressed")
    relevant = [c for c in choices if _applies(c, group, address)]
    denials = [c for c in relevant if not c.granted]
    if denials:
        last_no = _latest(denials)
        newer_yes = [c for c in relevant if c.granted and c.explicit and c.at > last_no.at]
        if newer_yes:
            yes = _latest(newer_yes)
            return Decision(True, "opted_in", yes.at, yes.row_id)
        return Decision(False, "opted_out", last_no.at, last_no.row_id)
    grants = [c for c in relevant if c.granted and (c.explicit or group.semantics == "opt_out")]
    if grants:
        yes = _latest(grants)
        return Decision(True, "opted_in", yes.at, yes.row_id)
    if group.semantics == "opt_in":
        return Decision(False, "not_opted_in")
    return Decision(True, "default")
