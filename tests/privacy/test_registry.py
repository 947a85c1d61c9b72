"""Every table is either exported and erased by a registered handler or declared not personal."""

from __future__ import annotations

from kizuna.models import Base
from kizuna.privacy.registry import HANDLERS, NOT_PERSONAL, covered_tables


def test_every_table_is_covered_by_a_handler_or_declared_not_personal() -> None:
    covered = covered_tables()

    missing = sorted(set(Base.metadata.tables) - set(covered))

    assert missing == [], (
        f"tables {missing} hold no declared place in data subject requests: add a "
        "PersonalData handler to kizuna.privacy.registry.HANDLERS, or name them in "
        "NOT_PERSONAL with the reason"
    )


def test_the_registry_names_only_real_tables_once() -> None:
    claimed = [table for handler in HANDLERS for table in handler.tables] + list(NOT_PERSONAL)

    assert sorted(set(claimed) - set(Base.metadata.tables)) == []
    assert len(claimed) == len(set(claimed))
    assert all(reason.strip() for reason in NOT_PERSONAL.values())
