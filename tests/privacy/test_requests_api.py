"""``/api/v1/privacy/requests``: the contract, refusals and the audit trail, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

from kizuna.privacy import audit
from tests.factories import make_api_key
from tests.privacy.dsr import Desk
from tests.support import bearer, error_of

ANN = {"type": "identify", "userId": "u-ann", "traits": {"email": "ann@example.com"}}


def _audit(desk: Desk, request_id: str) -> list[tuple[str, str, str]]:
    with desk.platform.db.read() as session:
        entries = audit.search(session, target_type="privacy_request", target_id=request_id)
        return [(e.action, e.outcome, e.actor) for e in reversed(entries)]


def test_a_request_is_accepted_then_runs_in_the_background(desk: Desk) -> None:
    # Given Ann
    desk.send(desk.crm, ANN)

    # When an export is asked for her email (as she typed it)
    asked = desk.ask("export", "email", " Ann@Example.COM ", regulation="gdpr")

    # Then it is accepted, pending, with GDPR's deadline, and nothing has run yet
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert body["status"] == "pending"
    assert body["kind"] == "export"
    assert body["regulation"] == "gdpr"
    assert body["identifier_type"] == "email"
    assert body["identifier_value"] == "ann@example.com"
    assert len(body["identifier_digest"]) == 64
    assert body["overdue"] is False
    assert body["result"] is None
    assert body["archive_url"] is None
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["deadline_at"]) - created == timedelta(days=30)
    request_id = body["id"]
    assert error_of(desk.api("GET", f"/privacy/requests/{request_id}/archive")) == (
        404,
        "privacy.no_archive",
    )

    # When the privacy consumer takes its first step, then its second
    privacy = next(c for c in desk.platform.consumers if c.name == "privacy")
    desk.platform.runner.run_once(privacy)
    assert desk.request(request_id)["status"] == "running"
    desk.platform.runner.run_until_idle()

    # Then it is completed with a summary and an archive to download
    done = desk.request(request_id)
    assert done["status"] == "completed"
    assert done["started_at"] is not None and done["completed_at"] is not None
    assert done["result"]["profiles"] == 1
    assert done["result"]["identifiers"] == 2
    assert done["result"]["events"] == 1
    assert done["archive_url"] == f"/api/v1/privacy/requests/{request_id}/archive"
    assert desk.archive(request_id)["identifiers.json"][0]["type"] in ("email", "user_id")
    key = body["requested_by"]
    assert key.startswith("api_key:")
    assert _audit(desk, request_id) == [
        ("privacy.request.created", "ok", key),
        ("privacy.request.started", "ok", "system:privacy"),
        ("privacy.request.completed", "ok", "system:privacy"),
        ("privacy.archive.downloaded", "ok", key),
    ]


def test_requests_are_listed_newest_first_with_filters(desk: Desk) -> None:
    desk.send(desk.crm, ANN)
    first = desk.ask("export", "user_id", "u-ann").json()["id"]
    second = desk.ask("suppression", "email", "nobody@example.com", regulation="ccpa").json()
    desk.platform.runner.run_until_idle()

    listed = desk.api("GET", "/privacy/requests").json()["items"]
    suppressions = desk.api("GET", "/privacy/requests", params={"kind": "suppression"}).json()

    assert [r["id"] for r in listed] == [second["id"], first]
    assert [r["status"] for r in listed] == ["completed", "completed"]
    assert [r["id"] for r in suppressions["items"]] == [second["id"]]
    deadline = datetime.fromisoformat(second["deadline_at"])
    assert deadline - datetime.fromisoformat(second["created_at"]) == timedelta(days=45)
    assert listed[0]["archive_url"] is None and listed[1]["archive_url"] is not None


def test_the_default_regulation_comes_from_the_settings(desk: Desk) -> None:
    desk.send(desk.crm, ANN)

    body = desk.ask("export", "user_id", "u-ann").json()

    assert body["regulation"] == "appi"


def test_an_unknown_person_is_refused_and_the_refusal_audited(desk: Desk) -> None:
    for kind in ("export", "erasure"):
        assert error_of(desk.ask(kind, "email", "nobody@example.com")) == (
            404,
            "privacy.person_not_found",
        )

    assert desk.api("GET", "/privacy/requests").json()["items"] == []
    with desk.platform.db.read() as session:
        refused = audit.search(session, action="privacy.request.person_not_found")
    assert [(e.outcome, e.target_type, len(e.target_id)) for e in refused] == [
        ("failed", "identifier", 64),
        ("failed", "identifier", 64),
    ]
    assert all("nobody" not in (e.details or "") + e.target_id for e in refused)


def test_unusable_identifiers_get_the_identity_rules_codes(desk: Desk) -> None:
    assert error_of(desk.ask("export", "email", "not-an-email")) == (
        400,
        "identity.invalid_email",
    )
    assert error_of(desk.ask("suppression", "phone", "call me")) == (
        400,
        "identity.invalid_phone",
    )
    assert error_of(desk.ask("shred", "email", "a@b.jp")) == (400, "request.invalid")
    assert error_of(desk.ask("export", "email", "a@b.jp", regulation="lgpd")) == (
        400,
        "request.invalid",
    )
    assert error_of(desk.api("GET", "/privacy/requests/dsr_missing")) == (
        404,
        "privacy.request_not_found",
    )


def test_only_privacy_admins_may_ask_or_look(desk: Desk) -> None:
    desk.send(desk.crm, ANN)
    request_id = desk.ask("export", "user_id", "u-ann").json()["id"]
    for role in ("marketer", "analyst", "support", "readonly"):
        key = bearer(make_api_key(desk.platform.db, role=role))
        body = {"kind": "erasure", "identifier": {"type": "user_id", "value": "u-ann"}}
        refused = [
            desk.api("POST", "/privacy/requests", key, json=body),
            desk.api("GET", "/privacy/requests", key),
            desk.api("GET", f"/privacy/requests/{request_id}", key),
            desk.api("GET", f"/privacy/requests/{request_id}/archive", key),
        ]
        assert [error_of(r) for r in refused] == [(403, "auth.missing_scope")] * 4
    assert desk.client.get("/api/v1/privacy/requests").status_code == 401
    assert [r["kind"] for r in desk.api("GET", "/privacy/requests").json()["items"]] == ["export"]
