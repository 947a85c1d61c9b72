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
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Summary:
    """What the rule needs of one person's relevant rows: the latest time of each kind.

    A whole audience is decided from these three maxima, computed by the database (one row per
    person instead of every ledger row). ``decide_summary`` gives the same ``allowed``,
    ``reason`` and ``since`` as ``decide`` on the rows (a property test holds them equal); it
    cannot name the deciding row. The times may be any ordered type: SQLite returns its stored
    ISO text, which orders like the times it spells.
    """

    last_no: Any = None  # latest denial
    last_explicit_yes: Any = None  # latest explicit grant
    last_yes: Any = None  # latest grant of any basis


def decide_summary(summary: Summary, group: Group, *, suppressed: bool = False) -> Decision:
    if suppressed:
        return Decision(False, "suppressed")
    last_no, explicit_yes = summary.last_no, summary.last_explicit_yes
    if last_no is not None:
        if explicit_yes is not None and explicit_yes > last_no:
            return Decision(True, "opted_in", explicit_yes)
        return Decision(False, "opted_out", last_no)
    yes = summary.last_yes if group.semantics == "opt_out" else explicit_yes
    if yes is not None:
        return Decision(True, "opted_in", yes)
    if group.semantics == "opt_in":
        return Decision(False, "not_opted_in")
    return Decision(True, "default")


def summarise(choices: Iterable[Choice], group: Group, *, address: str | None = None) -> Summary:
    """The summary of rows in memory (what the database computes for an audience)."""
    relevant = [c for c in choices if _applies(c, group, address)]
    return Summary(
        max((c.at for c in relevant if not c.granted), default=None),
        max((c.at for c in relevant if c.granted and c.explicit), default=None),
        max((c.at for c in relevant if c.granted), default=None),
    )
