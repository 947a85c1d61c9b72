"""The erasure proof: a person seen on every channel is erased, then the whole database is read
raw and none of their values is anywhere; their events sent again are dropped and counted.

SQLite: the database file's bytes (and its ``-wal``, if any) and ``iterdump()``. PostgreSQL:
every table of the schema read as text (``pg_dump`` is not needed for that).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import make_url, text

from kizuna.models import ProbableMatch
from kizuna.sources.service import set_tracking_plan
from tests.privacy.dsr import Desk

# Everything that names Hanako (raw and normalised forms).
EMAIL = "Hanako.Sato@Example.jp"
PHONE = "090-1234-5678"
SECRETS = (
    EMAIL,
    EMAIL.lower(),
    PHONE,
    "+819012345678",
    "佐藤",
    "花子",
    "サトウ",
    "cust-48213",
    "anon-7f3a91",
    "dev-A1B2C3D4",
    "LC-99887766",
    "1-2-3 Jingumae",
    "mail-open-1",
)
# Someone else, who must stay.
OTHER = ("taro@example.jp", "cust-00001")


def _her_life(desk: Desk) -> list[tuple[object, dict[str, object]]]:
    web, app, crm, store = desk.web, desk.app, desk.crm, desk.store
    address = {"street": "1-2-3 Jingumae", "city": "Shibuya", "postalCode": "150-0001"}
    return [
        (web, {"type": "page", "anonymousId": "anon-7f3a91", "name": "Home"}),
        (
            web,
            {
                "type": "identify",
                "anonymousId": "anon-7f3a91",
                "userId": "cust-48213",
                "traits": {"email": EMAIL, "firstName": "花子", "lastName": "佐藤"},
            },
        ),
        (
            app,
            {
                "type": "screen",
                "userId": "cust-48213",
                "name": "Cart",
                "context": {"device": {"id": "dev-A1B2C3D4"}, "traits": {"phone": PHONE}},
            },
        ),
        (
            crm,
            {
                "type": "identify",
                "userId": "cust-48213",
                "traits": {
                    "loyaltyCard": "LC-99887766",
                    "lastNameKana": "サトウ",
                    "address": address,
                    "phone": PHONE,
                },
            },
        ),
        (
            store,
            {
                "type": "track",
                "userId": "cust-48213",
                "event": "Order Completed",
                "properties": {"total": 5400, "loyalty_card": "LC-99887766"},
            },
        ),
        (
            crm,
            {
                "type": "track",
                "userId": "cust-48213",
                "event": "Consent Updated",
                "properties": {"purpose": "marketing", "channel": "email", "granted": True},
            },
        ),
        (
            crm,
            {
                "type": "track",
                "anonymousId": "mail-open-1",
                "event": "Email Opened",
                "context": {"traits": {"email": EMAIL}},
            },
        ),
        (
            web,
            {
                "type": "identify",
                "anonymousId": "anon-00001",
                "userId": "cust-00001",
                "traits": {"email": "taro@example.jp"},
            },
        ),
    ]


def _live_a_life(desk: Desk) -> str:
    for source, message in _her_life(desk):
        desk.send(source, message)  # type: ignore[arg-type]
    with desk.platform.db.write() as session:  # a plan holds her next web event aside
        set_tracking_plan(
            session, desk.web.id, mode="quarantine", plan={"events": {}, "unplanned": "violation"}
        )
        session.commit()
    desk.platform.directory.forget()
    desk.send(desk.web, {"type": "track", "userId": "cust-48213", "event": "Wishlist Added"})
    profile = desk.profile_of("email", EMAIL).json()["id"]
    recorded = desk.api(
        "POST",
        f"/profiles/{profile}/consent",
        json={"purpose": "marketing", "channel": "sms", "granted": True, "address": PHONE},
    )
    assert recorded.status_code == 201, recorded.text
    with desk.platform.db.write() as session:  # the matcher tied a paper-era record to her
        session.add(
            ProbableMatch(
                run_id="match_1",
                record_type="paper_member",
                record_value="P-4821",
                record=orjson.dumps({"氏名": "佐藤 花子", "電話": PHONE}).decode(),
                profile_id=profile,
                probability=0.81,
                status="pending",
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    return str(profile)


def _checkpoint(desk: Desk) -> None:
    """Move everything from the WAL into the file, as SQLite does every 1000 pages: the
    content to erase then sits in the file's pages (with stale copies in their free space)."""
    url = make_url(desk.platform.settings.database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0


def _database_as_text(desk: Desk) -> bytes:
    url = make_url(desk.platform.settings.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        path = Path(url.database)
        raw = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            raw += wal.read_bytes()
        with sqlite3.connect(path) as conn:
            raw += "\n".join(conn.iterdump()).encode()
        return raw
    dump = []
    with desk.platform.db.engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).scalars()
        for table in list(tables):
            rows = conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()
            dump += [f"{table}: {row}" for row in rows]
    return "\n".join(dump).encode()


def test_an_erased_person_is_nowhere_in_the_database(desk: Desk) -> None:
    # Given Hanako, seen on the web, the app, by the CRM, in a store, by email, with consent,
    # a quarantined event and a probable match; and Taro, someone else
    profile = _live_a_life(desk)
    before = _database_as_text(desk)
    assert [value for value in SECRETS if value.encode() not in before] == []
    assert desk.profile_of("device_id", "dev-A1B2C3D4").json()["id"] == profile
    _checkpoint(desk)

    # When she is erased
    done = desk.done("erasure", "phone", PHONE, regulation="gdpr")

    # Then none of her values is anywhere, and Taro is untouched
    assert done["status"] == "completed", done
    assert done["identifier_value"] is None
    assert done["result"]["profiles"] == 1
    # two anonymous ids, user id, email, phone, loyalty card, device
    assert done["result"]["suppressed"] == 7
    dump = _database_as_text(desk)
    left = [value for value in SECRETS if value.encode() in dump]
    assert left == []
    assert all(value.encode() in dump for value in OTHER)
    assert desk.profile_of("email", EMAIL).status_code == 404
    assert desk.api("GET", f"/profiles/{profile}").status_code == 404

    # And her events, sent again, are dropped and counted
    for source, message in _her_life(desk)[:7]:
        desk.send(source, message)  # type: ignore[arg-type]
    assert desk.profile_of("email", EMAIL).status_code == 404
    assert desk.profile_of("user_id", "cust-48213").status_code == 404
    tallies = {s.id: desk.tallies(s) for s in (desk.web, desk.app, desk.crm, desk.store)}
    assert tallies[desk.app.id]["suppressed"] == 1
    assert tallies[desk.crm.id]["suppressed"] == 3
    assert tallies[desk.store.id]["suppressed"] == 1
    assert tallies[desk.web.id]["suppressed"] == 2
    assert [value for value in SECRETS if value.encode() in _database_as_text(desk)] == []
