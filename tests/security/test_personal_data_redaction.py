"""SEC-2 (docs/threat-model.md): roles without ``profiles:read`` read events, not people.

The read-only role holds ``events:read`` and ``sources:read``; raw payloads reach it through
``/api/v1/events``, ``/api/v1/quarantine`` and the console's event, quarantine and live-event
views. Personal trait values (and the plan violations that quote them) are masked for it;
roles that may read profiles see payloads as stored. Regression tests of the fix, on both
databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.auth.service import create_console_user, open_session
from kizuna.config import Settings
from kizuna.console.web import SESSION_COOKIE
from kizuna.privacy import sealing
from kizuna.privacy.redaction import REDACTED
from kizuna.runtime import Platform
from kizuna.sources.service import set_tracking_plan
from tests.factories import make_api_key, make_source
from tests.support import bearer

EMAIL = "hanako@example.jp"
HELD_EMAIL = "taro@example.jp"
EMAIL_PLAN = {"traits": {"properties": {"email": {"type": "string", "pattern": "@shop\\.jp$"}}}}


class Shop:
    """A web shop, a CRM whose plan warns, a POS whose plan quarantines, and their events."""

    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        db = platform.db
        self.web = make_source(db, "web", "web")
        self.crm = make_source(db, "crm", "server")
        self.pos = make_source(db, "pos", "store")
        with db.write() as session:
            set_tracking_plan(session, self.crm.id, mode="warn", plan=EMAIL_PLAN)
            set_tracking_plan(session, self.pos.id, mode="quarantine", plan=EMAIL_PLAN)
            session.commit()
        self.keys = {role: bearer(make_api_key(db, role)) for role in ("admin", "readonly")}
        self.keys["analyst"] = bearer(make_api_key(db, "analyst"))
        self.sessions: dict[str, str] = {}
        context = {"ip": "192.0.2.7", "traits": {"email": EMAIL}}
        self.send(
            self.web,
            {"type": "identify", "userId": "u-hanako", "traits": {"email": EMAIL,
             "firstName": "Hanako", "plan": "gold"}, "context": context},
            {"type": "track", "userId": "u-hanako", "event": "Signed Up",
             "properties": {"email": EMAIL, "plan": "gold"}, "context": context},
        )  # fmt: skip
        self.send(self.crm, {"type": "identify", "userId": "u-hanako", "traits": {"email": EMAIL}})
        self.send(
            self.pos, {"type": "identify", "userId": "u-taro", "traits": {"email": HELD_EMAIL}}
        )

    def send(self, source: Any, *batch: dict[str, Any]) -> None:
        sent = self.client.post("/v1/batch", auth=(source.write_key, ""), json={"batch": batch})
        assert sent.status_code == 200, sent.text

    def api(self, role: str, path: str) -> Any:
        answer = self.client.get(f"/api/v1{path}", headers=self.keys[role])
        assert answer.status_code == 200, answer.text
        return answer.json()

    def events(self, role: str) -> dict[str, dict[str, Any]]:
        """The events by source name and type: ``web.identify``, ``crm.identify``..."""
        names = {self.web.id: "web", self.crm.id: "crm", self.pos.id: "pos"}
        items = self.api(role, "/events")["items"]
        return {f"{names[e['source_id']]}.{e['type']}": e for e in items}

    def console(self, role: str, path: str) -> str:
        token = self.sessions.get(role)
        if token is None:
            with self.platform.db.write() as session:
                user = create_console_user(
                    session, email=f"{role}@example.com", password="a long passphrase", role=role
                )
                token = self.sessions[role] = open_session(session, user, hours=1).token
                session.commit()
        page = self.client.get(path, headers={"Cookie": f"{SESSION_COOKIE}={token}"})
        assert page.status_code == 200, page.text
        return page.text


def _shop(settings: Settings, keys: list[str]) -> Iterator[Shop]:
    ingestion = settings.ingestion.model_copy(update={"source_cache_seconds": 0})
    privacy = settings.privacy.model_copy(update={"encryption_keys": keys})
    ours = settings.model_copy(update={"ingestion": ingestion, "privacy": privacy})
    platform = Platform(ours)
    with TestClient(create_app(ours, platform)) as client:
        yield Shop(client, platform)
    sealing.configure([])


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    yield from _shop(settings, [])


@pytest.fixture
def sealed_shop(settings: Settings) -> Iterator[Shop]:
    yield from _shop(settings, [Fernet.generate_key().decode()])


def _masked_for_readonly(events: dict[str, dict[str, Any]]) -> None:
    identify, track = events["web.identify"]["payload"], events["web.track"]["payload"]
    assert identify["traits"] == {"email": REDACTED, "firstName": REDACTED, "plan": "gold"}
    assert identify["context"] == {"ip": REDACTED, "traits": {"email": REDACTED}}
    assert track["properties"] == {"email": REDACTED, "plan": "gold"}
    assert track["event"] == "Signed Up"
    assert identify["userId"] == track["userId"] == "u-hanako"  # pseudonymous: kept


def test_readonly_reads_events_with_personal_values_masked(shop: Shop) -> None:
    events = shop.events("readonly")

    _masked_for_readonly(events)
    assert events["crm.identify"]["violations"] == [
        {"path": "traits.email", "keyword": "pattern", "message": REDACTED}
    ]
    assert EMAIL not in orjson.dumps(events).decode()


def test_readonly_reads_one_event_masked(shop: Shop) -> None:
    seq = shop.events("admin")["web.identify"]["seq"]

    event = shop.api("readonly", f"/events/{seq}")

    assert event["payload"]["traits"]["email"] == REDACTED


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_roles_that_read_profiles_read_payloads_as_sent(shop: Shop, role: str) -> None:
    events = shop.events(role)

    assert events["web.identify"]["payload"]["traits"]["email"] == EMAIL
    assert events["web.identify"]["payload"]["context"]["ip"] == "192.0.2.7"
    assert EMAIL in events["crm.identify"]["violations"][0]["message"]


def test_readonly_reads_quarantined_events_masked(shop: Shop) -> None:
    (held,) = shop.api("readonly", "/quarantine")["items"]
    (as_admin,) = shop.api("admin", "/quarantine")["items"]

    assert held["payload"]["traits"] == {"email": REDACTED}
    assert held["violations"][0]["message"] == REDACTED
    assert as_admin["payload"]["traits"] == {"email": HELD_EMAIL}


def test_with_sealing_on_readonly_sees_the_mask_never_a_marker(sealed_shop: Shop) -> None:
    events = sealed_shop.events("readonly")

    _masked_for_readonly(events)
    assert sealed_shop.events("admin")["web.identify"]["payload"]["traits"]["email"] == EMAIL


def test_the_console_event_page_masks_for_readonly(shop: Shop) -> None:
    seq = shop.events("admin")["web.identify"]["seq"]

    readonly = shop.console("readonly", f"/console/events/{seq}")
    admin = shop.console("admin", f"/console/events/{seq}")

    assert EMAIL not in readonly
    assert REDACTED in readonly
    assert "u-hanako" in readonly
    assert EMAIL in admin


def test_the_console_quarantine_page_masks_for_readonly(shop: Shop) -> None:
    readonly = shop.console("readonly", "/console/quarantine")

    assert HELD_EMAIL not in readonly
    assert REDACTED in readonly
    assert HELD_EMAIL in shop.console("admin", "/console/quarantine")


def test_the_console_live_events_mask_violations_for_readonly(shop: Shop) -> None:
    path = f"/console/sources/{shop.crm.id}/events/live"

    readonly = shop.console("readonly", path)

    assert "traits.email" in readonly
    assert EMAIL not in readonly
    assert EMAIL in shop.console("admin", path)
    assert EMAIL not in shop.console("readonly", f"/console/sources/{shop.crm.id}")
