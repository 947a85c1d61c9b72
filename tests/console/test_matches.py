"""The probable-matches page: a person reviews the matcher's grey zone, in English and Japanese."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from playwright.sync_api import expect

from kizuna.db import Database
from kizuna.models import ProbableMatch
from tests.console.conftest import Console, wait_until
from tests.factories import make_source
from tests.support import scalar


def _profile_of(db: Database, id_type: str, value: str) -> str | None:
    return scalar(
        db,
        "SELECT profile_id FROM identity_nodes WHERE type = :t AND value = :v",
        t=id_type,
        v=value,
    )


def _pending(db: Database, record: str, profile_id: str, probability: float) -> int:
    """A grey-zone pair as ``kizuna identity match`` leaves it."""
    with db.write() as session:
        row = ProbableMatch(
            run_id="match_test",
            record_type="paper_member",
            record_value=record,
            record=orjson.dumps({"会員番号": record, "氏名": "サトウ ハナコ"}).decode(),
            profile_id=profile_id,
            probability=probability,
            status="pending",
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.commit()
        return row.id


def _customer(console: Console) -> str:
    crm = make_source(console.db, "crm", "server")
    console.track(
        crm,
        userId="u-hanako",
        event="Signed Up",
        context={"traits": {"lastName": "佐藤", "firstName": "花子", "birthday": "1980-04-02"}},
    )
    wait_until(lambda: _profile_of(console.db, "user_id", "u-hanako") is not None, timeout=30)
    profile = _profile_of(console.db, "user_id", "u-hanako")
    assert profile is not None
    return profile


def test_accepting_a_probable_match_joins_the_record_to_the_profile(console: Console) -> None:
    # Given a customer and a record of the paper-era list the matcher was unsure about
    profile = _customer(console)
    match_id = _pending(console.db, "P-77", profile, 0.83)
    console.user("admin")
    console.sign_in()

    # When the administrator opens the review queue and says it is the same person
    page = console.open("/console/matches")
    row = page.locator(f"tr.match[data-match='{match_id}']")
    expect(row).to_contain_text("83.0%")
    expect(row).to_contain_text("サトウ ハナコ")
    expect(row).to_contain_text("花子")  # the profile's own attributes beside the record
    row.locator("button.accept").click()

    # Then the record belongs to the profile and the pair is listed as accepted
    expect(page.locator("#notice")).to_contain_text(f"Match {match_id} accepted")
    wait_until(lambda: _profile_of(console.db, "paper_member", "P-77") == profile, timeout=30)
    expect(page.locator("#matches-empty")).to_be_visible()
    page = console.open("/console/matches?status=accepted")
    expect(page.locator(f"tr.match[data-match='{match_id}']")).to_contain_text("admin")


def test_rejecting_in_japanese_keeps_the_record_apart(console_ja: Console) -> None:
    profile = _customer(console_ja)
    match_id = _pending(console_ja.db, "P-78", profile, 0.64)
    console_ja.user("admin", locale="ja")
    console_ja.sign_in()

    page = console_ja.open("/console/matches")
    expect(page.locator("h1")).to_have_text("名寄せ候補")
    page.locator(f"tr.match[data-match='{match_id}'] button.reject").click()

    expect(page.locator("#notice")).to_contain_text("却下しました")
    assert _profile_of(console_ja.db, "paper_member", "P-78") is None
    status = scalar(
        console_ja.db, "SELECT status FROM identity_probable_matches WHERE id = :i", i=match_id
    )
    assert status == "rejected"


def test_an_analyst_sees_the_queue_but_cannot_decide(console: Console) -> None:
    profile = _customer(console)
    match_id = _pending(console.db, "P-79", profile, 0.7)
    console.user("analyst")
    console.sign_in("analyst@example.com")

    page = console.open("/console/matches")

    row = page.locator(f"tr.match[data-match='{match_id}']")
    expect(row).to_be_visible()
    expect(row.locator("button.accept")).to_have_count(0)
