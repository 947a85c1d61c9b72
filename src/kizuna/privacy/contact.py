"""``may_contact``: the question every send asks, for one person or for a whole audience.

Sends ask for audiences of thousands, so the database does the reading in a few round trips:
for each person, the latest denial, the latest explicit grant and the latest grant among the
ledger rows of the asked purpose and channel that hang on the person's identifiers (one
aggregated row per person; the profile ids travel as one array parameter, PostgreSQL
``= ANY`` and SQLite ``json_each``). ``consent_rules.decide_summary`` turns those three times
into the answer; it agrees with ``consent_rules.decide`` on the rows themselves, which a
property test checks on both databases.

Suppression: the list is a set of keyed digests, and every identity node carries the digest
of its identifier, so who is suppressed is one join in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from kizuna.kit.sql import among
from kizuna.models import ConsentRecord, IdentityNode, Suppression
from kizuna.privacy.consent_config import ConsentCatalogue, Group, check_choice
from kizuna.privacy.consent_rules import Choice, Decision, Summary, decide, decide_summary

# People per round trip: SQLite walks indexes (small parts keep each walk short); PostgreSQL
# hash-joins, which pays off on large parts.
PARTS = {"sqlite": 5_000, "postgresql": 50_000}
SUPPRESSED = Decision(False, "suppressed")
# Up to this many people the ledger rows themselves are read and ``decide`` applied: the
# aggregated statement, once prepared, can be planned generically by PostgreSQL for a whole
# table (over 100 ms for one person), and a few people have few rows anyway.
FEW = 100

# Core tables, not ORM entities: an audience's rows skip the ORM's per-row loading.
_NODES = IdentityNode.__table__.c
_LEDGER = ConsentRecord.__table__.c
_SUPPRESSIONS = Suppression.__table__.c


def _summaries(dialect: str, part: list[str], group: Group, address: str | None) -> Select[Any]:
    """One row per person with relevant ledger rows or a suppressed identifier: the three
    times ``Summary`` holds, and whether an identifier's digest is on the suppression list.
    One walk of the audience's identity nodes answers both (the audience goes to the
    database once).

    On SQLite the purpose and channel are compared as expressions (``|| ''``): without
    statistics its planner might otherwise start from the purpose index (every row of a purpose)
    instead of walking from the people's identifiers. PostgreSQL plans from statistics (hash
    joins for large audiences), and an expression there would hide the purpose's selectivity.
    """
    c, n, s = _LEDGER, _NODES, _SUPPRESSIONS
    purpose, channel = (
        (c.purpose.concat(""), c.channel.concat(""))
        if dialect == "sqlite"
        else (
            c.purpose,
            c.channel,
        )
    )
    relevant = [purpose == group.purpose, channel.in_((group.channel, "all"))]
    if address is not None:
        relevant.append(or_(c.address.is_(None), c.address == address))

    def latest(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        # Raw values (ISO text on SQLite): only the deciding time is converted, in Python.
        return type_coerce(func.max(case((condition, c.effective_at))), NullType())

    granted = c.granted.is_(true())
    suppressed = func.max(case((s.digest.is_not(None), 1), else_=0))
    return (
        select(
            n.profile_id,
            suppressed,
            latest(c.granted.is_(false())),
            latest(and_(granted, c.explicit.is_(true()))),
            latest(granted),
        )
        .outerjoin(
            ConsentRecord.__table__,
            and_(c.identifier_type == n.type, c.identifier_value == n.value, *relevant),
        )
        .outerjoin(Suppression.__table__, s.digest == n.digest)
        .where(among(dialect, _NODES.profile_id, part))
        .group_by(n.profile_id)
        .having(or_(func.count(c.id) > 0, suppressed == 1))
    )


def _aware(value: Any) -> datetime:
    """A raw stored time (naive UTC; text on SQLite) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def suppressed_among(session: Session, dialect: str, part: list[str]) -> set[str]:
    """The people of ``part`` holding an identifier on the suppression list: identity nodes
    carry the list's keyed digest, so the database joins them (no identifier leaves it)."""
    n, s = _NODES, _SUPPRESSIONS
    query = (
        select(n.profile_id)
        .distinct()
        .join(Suppression.__table__, s.digest == n.digest)
        .where(among(dialect, _NODES.profile_id, part))
    )
    return set(session.execute(query).scalars())


def _rows_of(session: Session, part: list[str], group: Group) -> dict[str, list[Choice]]:
    """The ledger rows of a few people bearing on ``group``: every row of their identifiers,
    filtered here (a purpose condition tempts planners to scan the ledger by purpose)."""
    c, n = _LEDGER, _NODES
    query = (
        select(
            n.profile_id,
            c.purpose,
            c.channel,
            c.granted,
            c.explicit,
            c.effective_at,
            c.address,
            c.id,
        )
        .join(
            ConsentRecord.__table__,
            and_(c.identifier_type == n.type, c.identifier_value == n.value),
        )
        .where(n.profile_id.in_(part))
    )
    found: dict[str, list[Choice]] = {p: [] for p in part}
    for owner, purpose, channel, granted, explicit, at, address, row_id in session.execute(query):
        if purpose == group.purpose and channel in (group.channel, "all"):
            found[owner].append(
                Choice(purpose, channel, bool(granted), bool(explicit), _aware(at), address, row_id)
            )
    return found


def may_contact_many(
    session: Session,
    catalogue: ConsentCatalogue,
    profile_ids: Sequence[str],
    purpose: str,
    channel: str,
    *,
    address: str | None = None,
) -> dict[str, Decision]:
    """The decision for each live profile id (what a send step asks for a whole audience)."""
    check_choice(catalogue, purpose, channel)
    group = catalogue.group(purpose, channel)
    assert group is not None
    dialect = session.get_bind().dialect.name
    nobody = decide_summary(Summary(), group)  # no ledger row: the group's semantics decide
    decisions: dict[str, Decision] = {}
    size = PARTS.get(dialect, 1_000)
    for start in range(0, len(profile_ids), size):
        part = list(dict.fromkeys(profile_ids[start : start + size]))
        if len(part) <= FEW:
            rows = _rows_of(session, part, group)
            for profile_id in part:
                decisions[profile_id] = decide(rows[profile_id], group, address=address)
            for profile_id in suppressed_among(session, dialect, part):
                decisions[profile_id] = SUPPRESSED
            continue
        for profile_id in part:
            decisions[profile_id] = nobody
        summaries = session.execute(_summaries(dialect, part, group, address)).all()
        for profile_id, suppressed, *times in summaries:
            if suppressed:
                decisions[profile_id] = SUPPRESSED
                continue
            decision = decide_summary(Summary(*times), group)
            if decision.since is not None:
                decision = Decision(decision.allowed, decision.reason, _aware(decision.since))
            decisions[profile_id] = decision
    return decisions
