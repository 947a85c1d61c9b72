"""A completed export: everything Kizuna holds about the person, machine-readable, nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from kizuna.models import ProbableMatch
from kizuna.sources.service import set_tracking_plan
from tests.privacy.dsr import Desk


def _ann(desk: Desk) -> str:
    desk.send(
        desk.web,
        {
            "type": "page",
            "anonymousId": "a-ann",
            "name": "Home",
            "timestamp": "2026-11-01T09:00:00Z",
        },
    )
    desk.send(
        desk.crm,
        {
            "type": "identify",
            "userId": "u-ann",
            "traits": {"email": "ann@example.com", "plan": "free", "phone": "not a phone"},
            "timestamp": "2026-11-01T10:00:00Z",
        },
    )
    desk.send(  # the web visitor logs in: two profiles merge
        desk.web,
        {
            "type": "identify",
            "anonymousId": "a-ann",
            "userId": "u-ann",
            "traits": {"plan": "gold"},
            "timestamp": "2026-11-02T10:00:00Z",
        },
    )
    desk.send(desk.web, {"type": "identify", "userId": "u-bob", "traits": {"plan": "bob"}})
    profile = str(desk.profile_of("user_id", "u-ann").json()["id"])
    consent = {"purpose": "marketing", "channel": "email", "granted": True, "source": "form"}
    assert desk.api("POST", f"/profiles/{profile}/consent", json=consent).status_code == 201
    with desk.platform.db.write() as session:
        set_tracking_plan(
            session, desk.crm.id, mode="quarantine", plan={"events": {}, "unplanned": "violation"}
        )
        session.add(
            ProbableMatch(
                run_id="match_1",
                record_type="paper_member",
                record_value="P-1",
                record=orjson.dumps({"name": "Ann"}).decode(),
                profile_id=profile,
                probability=0.8,
                status="pending",
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    desk.platform.directory.forget()
    desk.send(desk.crm, {"type": "track", "userId": "u-ann", "event": "Unplanned"})
    return profile


def test_the_archive_holds_the_whole_person(desk: Desk) -> None:
    # Given Ann, seen on two sources, merged once, with consent, a match and a held event
    profile = _ann(desk)

    # When she asks for her data
    done = desk.done("export", "email", "ann@example.com")

    # Then the archive has every part of it, in files a machine reads
    assert done["status"] == "completed", done
    files = desk.archive(done["id"])
    assert sorted(files) == [
        "computed_traits.json",
        "consent_history.json",
        "events.jsonl",
        "identifiers.json",
        "identity_conflicts.json",
        "identity_evidence.json",
        "identity_refusals.json",
        "manifest.json",
        "privacy_requests.json",
        "probable_matches.json",
        "profile.json",
        "profile_changes.json",
        "quarantined_events.jsonl",
        "segment_history.json",
        "segment_memberships.json",
        "segment_occurrences.json",
        "segment_trait_values.json",
        "traits.json",
    ]
    manifest = files["manifest.json"]
    assert manifest["format"] == "kizuna-export/1"
    assert manifest["request_id"] == done["id"]
    assert manifest["profile_id"] == profile
    assert manifest["files"]["events.jsonl"] == 3 + 1  # her three events and one merge
    assert manifest["files"] == {
        n: len(c) if isinstance(c, list) else 1 for n, c in files.items() if n != "manifest.json"
    }
    assert files["profile.json"]["id"] == profile
    assert len(files["profile.json"]["merged_profile_ids"]) == 1
    assert {(i["type"], i["value"]) for i in files["identifiers.json"]} == {
        ("anonymous_id", "a-ann"),
        ("user_id", "u-ann"),
        ("email", "ann@example.com"),
    }
    assert files["traits.json"]["plan"]["value"] == "gold"
    assert [h["value"] for h in files["traits.json"]["plan"]["history"]] == ["free", "gold"]
    messages = [e["message"] for e in files["events.jsonl"]]
    assert [m.get("type") for m in messages] == ["page", "identify", "identify", "track"]
    assert messages[-1]["event"] == "profile.merged"
    assert all("u-bob" not in orjson.dumps(m).decode() for m in messages)
    assert [(c["purpose"], c["channel"], c["granted"]) for c in files["consent_history.json"]] == [
        ("marketing", "email", True)
    ]
    assert [m["record"]["value"] for m in files["probable_matches.json"]] == ["P-1"]
    assert [q["message"]["event"] for q in files["quarantined_events.jsonl"]] == ["Unplanned"]
    assert [(r["type"], r["value"]) for r in files["identity_refusals.json"]] == [
        ("phone", "not a phone")
    ]
    assert [c["kind"] for c in files["profile_changes.json"]] == ["merged", "merged"]
    assert [r["id"] for r in files["privacy_requests.json"]] == [done["id"]]
    assert done["result"]["files"] == manifest["files"]


def test_an_export_changes_nothing(desk: Desk) -> None:
    profile = _ann(desk)

    desk.done("export", "user_id", "u-ann")

    again = desk.profile_of("email", "ann@example.com")
    assert again.status_code == 200
    assert again.json()["id"] == profile
    assert desk.done("export", "anonymous_id", "a-ann")["result"]["events"] == 4
