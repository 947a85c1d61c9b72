"""``GET /api/v1/segments/{id}/export`` (CSV of contacts, hashed for advertising platforms), the
``kizuna segments export`` command, and segments' part in data subject requests."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kizuna.config import Settings
from tests.conftest import server_env
from tests.privacy.dsr import Desk, desk
from tests.segments.shop import ORDERS_IN_STORE, Shop, shop
from tests.support import error_of, rows, scalar

__all__ = ["desk", "shop"]

KIZUNA = (sys.executable, "-m", "kizuna")
AN_HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parsed(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


class Customers:
    """Ann (two emails, one phone; shares with partners), Bob (a phone; shares), Cho (an email
    that looks like a formula; never said yes to sharing). All three bought in store."""

    def __init__(self, shop: Shop) -> None:
        shop.send(
            shop.crm,
            {
                "type": "identify",
                "userId": "ann",
                "traits": {"email": "Ann.Old@Example.jp", "phone": "090-1111-2222"},
                "timestamp": AN_HOUR_AGO,
            },
        )
        shop.send(shop.crm, {"type": "identify", "userId": "ann", "traits": {"email": "ann@x.jp"}})
        shop.send(
            shop.crm, {"type": "identify", "userId": "bob", "traits": {"phone": "08033334444"}}
        )
        shop.send(shop.crm, {"type": "identify", "userId": "cho", "traits": {"email": "=1+2@x.jp"}})
        self.ann, self.bob, self.cho = (shop.profile(u) for u in ("ann", "bob", "cho"))
        for user_id in ("ann", "bob", "cho"):
            shop.order(user_id, total=1000)
        for profile_id in (self.ann, self.bob):
            consent = {"purpose": "third_party_sharing", "channel": "all", "granted": True}
            shop.ok("POST", f"/profiles/{profile_id}/consent", json=consent)
        self.segment = shop.segment(ORDERS_IN_STORE)


# --- csv -------------------------------------------------------------------------------------


def test_csv_lists_each_member_with_the_latest_email_and_phone(shop: Shop) -> None:
    people = Customers(shop)

    exported = shop.api("GET", f"/segments/{people.segment}/export", params={"format": "csv"})

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    disposition = f'attachment; filename="{people.segment}-csv.csv"'
    assert exported.headers["content-disposition"] == disposition
    header, *lines = parsed(exported)
    assert header == ["profile_id", "email", "phone", "since"]
    by_profile = {line[0]: line[1:3] for line in lines}
    assert by_profile == {
        people.ann: ["ann@x.jp", "+819011112222"],
        people.bob: ["", "+818033334444"],
        people.cho: ["'=1+2@x.jp", ""],  # a spreadsheet would run "=1+2..." as a formula
    }
    assert [line[0] for line in lines] == sorted(by_profile)
    assert all(datetime.fromisoformat(line[3]) for line in lines)


def test_csv_is_the_default_format_and_is_audited(shop: Shop) -> None:
    people = Customers(shop)

    exported = shop.api("GET", f"/segments/{people.segment}/export")

    assert len(parsed(exported)) == 4
    (entry,) = shop.ok("GET", "/audit", params={"action": "segment.export"})["items"]
    assert (entry["target_type"], entry["target_id"]) == ("segment", people.segment)
    assert entry["details"] == {"format": "csv"}
    assert entry["actor"].startswith("api_key:")


def test_csv_of_contacts_needs_profiles_read_too(shop: Shop) -> None:
    people = Customers(shop)
    path = f"/segments/{people.segment}/export"

    refused = shop.api("GET", path, key=shop.key("readonly"))
    allowed = shop.api("GET", path, key=shop.key("analyst"))
    hashed = shop.api("GET", path, key=shop.key("readonly"), params={"format": "hashed"})

    assert error_of(refused) == (403, "auth.missing_scope")
    assert refused.json()["error"]["details"] == {"scope": "profiles:read", "role": "readonly"}
    assert allowed.status_code == 200
    assert hashed.status_code == 200
    denied = shop.ok("GET", "/audit", params={"action": "access.denied"})["items"]
    assert [e["details"]["scope"] for e in denied] == ["profiles:read"]


def test_an_empty_segment_exports_a_header_alone(shop: Shop) -> None:
    segment_id = shop.segment(ORDERS_IN_STORE)

    exported = shop.api("GET", f"/segments/{segment_id}/export")

    assert exported.text == "profile_id,email,phone,since\r\n"


# --- hashed ----------------------------------------------------------------------------------


def test_hashed_leaves_out_members_without_consent_and_says_how_many(shop: Shop) -> None:
    people = Customers(shop)

    exported = shop.api("GET", f"/segments/{people.segment}/export", params={"format": "hashed"})

    assert exported.status_code == 200, exported.text
    assert exported.headers["x-kizuna-members"] == "3"
    assert exported.headers["x-kizuna-exported"] == "2"
    assert exported.headers["x-kizuna-left-out"] == "1"
    assert exported.headers["x-kizuna-without-identifiers"] == "0"
    header, *lines = parsed(exported)
    assert header == ["email", "phone"]
    ann_rows = [[sha("ann@x.jp"), sha("+819011112222")], [sha("ann.old@example.jp"), ""]]
    bob_rows = [["", sha("+818033334444")]]
    expected = ann_rows + bob_rows if people.ann < people.bob else bob_rows + ann_rows
    assert lines == expected
    assert sha("=1+2@x.jp") not in exported.text
    (entry,) = shop.ok("GET", "/audit", params={"action": "segment.export"})["items"]
    assert entry["details"] == {
        "format": "hashed",
        "platform": "google",
        "purpose": "third_party_sharing",
        "channel": "all",
        "exported": 2,
        "left_out": 1,
    }


def test_meta_hashes_phones_without_the_plus(shop: Shop) -> None:
    people = Customers(shop)

    exported = shop.api(
        "GET",
        f"/segments/{people.segment}/export",
        params={"format": "hashed", "platform": "meta"},
    )

    phones = {line[1] for line in parsed(exported)[1:] if line[1]}
    assert phones == {sha("819011112222"), sha("818033334444")}


def test_another_purpose_asks_its_own_consent(shop: Shop) -> None:
    people = Customers(shop)
    # Marketing by post is opt-out: everyone is allowed until they say no
    shop.ok(
        "POST",
        f"/profiles/{people.ann}/consent",
        json={"purpose": "marketing", "channel": "post", "granted": False},
    )

    exported = shop.api(
        "GET",
        f"/segments/{people.segment}/export",
        params={"format": "hashed", "purpose": "marketing", "channel": "post"},
    )

    assert exported.headers["x-kizuna-left-out"] == "1"
    by_profile = {people.bob: ["", sha("+818033334444")], people.cho: [sha("=1+2@x.jp"), ""]}
    assert parsed(exported)[1:] == [by_profile[p] for p in sorted(by_profile)]


def test_an_allowed_member_without_email_or_phone_is_counted(shop: Shop) -> None:
    shop.customer("dan")
    shop.order("dan", total=1000)
    segment_id = shop.segment(ORDERS_IN_STORE)
    dan = shop.profile("dan")
    shop.ok(
        "POST",
        f"/profiles/{dan}/consent",
        json={"purpose": "third_party_sharing", "channel": "all", "granted": True},
    )

    exported = shop.api("GET", f"/segments/{segment_id}/export", params={"format": "hashed"})

    assert exported.text == "email,phone\r\n"
    assert exported.headers["x-kizuna-exported"] == "0"
    assert exported.headers["x-kizuna-without-identifiers"] == "1"


def test_unknown_purposes_formats_and_platforms_are_400(shop: Shop) -> None:
    segment_id = shop.segment(ORDERS_IN_STORE)
    path = f"/segments/{segment_id}/export"

    def ask(**params: str) -> tuple[int, str]:
        return error_of(shop.api("GET", path, params={"format": "hashed", **params}))

    assert ask(purpose="lottery") == (400, "consent.unknown_purpose")
    assert ask(channel="fax") == (400, "consent.unknown_channel")
    assert ask(platform="myspace") == (400, "request.invalid")
    assert ask(format="xlsx") == (400, "request.invalid")
    assert ask(purpose="'; DROP TABLE events; --") == (400, "request.invalid")


# --- the command line ------------------------------------------------------------------------


def test_the_cli_writes_the_same_hashed_file(
    shop: Shop, settings: Settings, tmp_path: Path
) -> None:
    people = Customers(shop)
    from_api = shop.api("GET", f"/segments/{people.segment}/export", params={"format": "hashed"})
    output = tmp_path / "audience.csv"

    done = subprocess.run(
        [*KIZUNA, "segments", "export", people.segment, "-o", str(output), "--format", "hashed"],
        capture_output=True,
        text=True,
        timeout=120,
        env=server_env(settings.database_url),
    )

    assert done.returncode == 0, done.stderr
    assert output.read_bytes() == from_api.content
    assert "2 of 3 members exported; 1 left out without third_party_sharing consent" in done.stderr
    actors = [e["actor"] for e in shop.ok("GET", "/audit", params={"action": "segment."})["items"]]
    assert actors[0] == "cli"


def test_the_cli_refuses_an_unknown_segment(settings: Settings, tmp_path: Path) -> None:
    done = subprocess.run(
        [*KIZUNA, "segments", "export", "seg_nowhere", "-o", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        env=server_env(settings.database_url),
    )

    assert done.returncode == 2
    assert "segment.not_found" in done.stderr


# --- data subject requests -------------------------------------------------------------------


def _desk_segment(desk: Desk) -> str:
    created = desk.api("POST", "/segments", json=ORDERS_IN_STORE)
    assert created.status_code == 201, created.text
    desk.platform.runner.run_until_idle()
    return str(created.json()["id"])


def _her_orders(desk: Desk) -> None:
    desk.send(desk.crm, {"type": "identify", "userId": "hanako", "traits": {"email": "h@x.jp"}})
    desk.send(desk.store, {"type": "track", "userId": "hanako", "event": "Order Completed"})
    desk.send(desk.store, {"type": "track", "userId": "taro", "event": "Order Completed"})


def test_a_persons_memberships_are_in_their_export(desk: Desk) -> None:
    segment_id = _desk_segment(desk)
    _her_orders(desk)

    done = desk.done("export", "email", "h@x.jp")

    files = desk.archive(done["id"])
    (membership,) = files["segment_memberships.json"]
    assert (membership["segment_id"], membership["segment_name"]) == (segment_id, "Bought in store")
    assert [c["change"] for c in files["segment_history.json"]] == ["entered"]
    assert {o["profile_id"] for o in files["segment_occurrences.json"]} == {
        membership["profile_id"]
    }


def test_an_erased_person_leaves_every_segment_table(desk: Desk) -> None:
    segment_id = _desk_segment(desk)
    _her_orders(desk)
    hanako = desk.profile_of("email", "h@x.jp").json()["id"]
    assert desk.api("GET", f"/segments/{segment_id}").json()["members"] == 2

    done = desk.done("erasure", "email", "h@x.jp")

    assert done["status"] == "completed", done
    db = desk.platform.db
    for table in (
        "segment_members",
        "segment_changes",
        "segment_occurrences",
        "segment_trait_values",
        "computed_trait_values",
        "segment_timers",
    ):
        assert scalar(db, f"SELECT count(*) FROM {table} WHERE profile_id = :p", p=hanako) == 0
    assert rows(db, "SELECT members FROM segments") == [(1,)]
    assert desk.api("GET", f"/segments/{segment_id}").json()["members"] == 1


def test_the_cli_recomputes_and_follows_the_progress(
    shop: Shop, settings: Settings, tmp_path: Path
) -> None:
    import time

    people = Customers(shop)
    waiting = subprocess.Popen(
        [*KIZUNA, "segments", "recompute", people.segment, "--wait"],
        stderr=subprocess.PIPE,
        text=True,
        env=server_env(settings.database_url),
    )
    try:
        deadline = time.monotonic() + 120
        while waiting.poll() is None and time.monotonic() < deadline:
            shop.run()  # the worker's part
            time.sleep(0.2)
        _, errors = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, errors
    assert "marked for recompute" in errors
    assert errors.rstrip().endswith("3 members")
    assert rows(shop.platform.db, "SELECT status, members FROM segments") == [("ready", 3)]
