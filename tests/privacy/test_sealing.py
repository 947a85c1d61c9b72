"""Encryption at rest of personal trait values: sealing, reading back, and key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kizuna.app import create_app
from kizuna.config import Settings, get_settings
from kizuna.privacy import sealing
from kizuna.privacy.classification import DEFAULT
from kizuna.privacy.cli import privacy_app
from kizuna.privacy.resealing import reseal
from kizuna.privacy.sealing import SEALED_PREFIX, Sealer, open_payload, seal_payload
from kizuna.runtime import Platform
from kizuna.sources.service import set_tracking_plan
from tests.privacy.dsr import Desk
from tests.support import rows

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
ADDRESS = {"postalCode": "150-0001", "state": "東京都", "city": "渋谷区", "street": "神宮前1-1"}
SECRETS = ("ann@example.jp", "Hanako", "Yamada", "ヤマダ", "神宮前1-1", "09012345678")


@pytest.fixture(autouse=True)
def _sealing_off_afterwards() -> Iterator[None]:
    """Keys are process-wide: leave the process as the next test module expects it (off)."""
    yield
    sealing.configure([])


def _message(**traits: Any) -> str:
    return orjson.dumps({"type": "identify", "userId": "u-1", "traits": traits}).decode()


# --- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["ann@example.jp", "", 42, 3.5, True, ADDRESS, ["a", 1], {"nested": {"x": None}}]
)
def test_any_json_value_round_trips(value: Any) -> None:
    sealer = Sealer([KEY_A])

    marker = sealer.seal(value)

    assert marker.startswith(SEALED_PREFIX)
    assert sealer.open(marker) == value


def test_the_first_key_seals_and_every_key_opens() -> None:
    old = Sealer([KEY_A]).seal("ann@example.jp")
    both = Sealer([KEY_B, KEY_A])

    assert both.open(old) == "ann@example.jp"
    assert Sealer([KEY_B]).open(both.seal("x")) == "x"


def test_a_value_no_configured_key_opens_reads_as_its_marker() -> None:
    marker = Sealer([KEY_A]).seal("ann@example.jp")

    assert Sealer([KEY_B]).open(marker) == marker
    assert Sealer([KEY_B]).open(SEALED_PREFIX + "not-a-token") == SEALED_PREFIX + "not-a-token"


def test_a_key_that_is_not_a_fernet_key_is_refused_by_its_position() -> None:
    with pytest.raises(ValueError, match="encryption key 2 is not a Fernet key"):
        Sealer([KEY_A, "correct horse battery staple"])


def test_settings_read_the_keys_as_a_json_list_and_never_print_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIZUNA_PRIVACY__ENCRYPTION_KEYS", f'["{KEY_B}", "{KEY_A}"]')

    settings = Settings()

    assert [k.get_secret_value() for k in settings.privacy.encryption_keys] == [KEY_B, KEY_A]
    assert KEY_A not in repr(settings)
    assert KEY_A not in str(settings.model_dump())


# --- payloads --------------------------------------------------------------------------------


def test_personal_values_of_traits_and_context_traits_are_sealed_keys_stay_in_clear() -> None:
    text = orjson.dumps(
        {
            "type": "track",
            "event": "Order Completed",
            "properties": {"total": 5400},
            "traits": {"email": "ann@example.jp", "plan": "gold", "address": ADDRESS, "age": 41},
            "context": {"traits": {"lastNameKana": "ヤマダ", "phone": None}, "ip": "192.0.2.1"},
        }
    ).decode()

    sealed, in_traits = seal_payload(text, DEFAULT, Sealer([KEY_A]))

    stored = orjson.loads(sealed)
    assert in_traits == {"email", "address", "age"}
    assert all(s not in sealed for s in ("ann@example.jp", "ヤマダ", "渋谷区"))
    assert stored["traits"]["plan"] == "gold"
    assert stored["traits"]["email"].startswith(SEALED_PREFIX)
    assert stored["context"]["traits"]["phone"] is None  # nothing to hide
    assert '"traits"' in sealed and '"email"' in sealed  # payload filters keep working
    sealing.configure([KEY_A])
    assert open_payload(sealed) == orjson.loads(text)


def test_a_payload_with_nothing_personal_is_stored_unchanged() -> None:
    text = _message(plan="gold")

    assert seal_payload(text, DEFAULT, Sealer([KEY_A])) == (text, set())


def test_without_keys_a_stored_marker_is_read_as_it_is() -> None:
    sealed, _ = seal_payload(_message(email="ann@example.jp"), DEFAULT, Sealer([KEY_A]))
    sealing.configure([])

    assert open_payload(sealed)["traits"]["email"].startswith(SEALED_PREFIX)
    sealing.configure([KEY_B])
    assert open_payload(sealed)["traits"]["email"].startswith(SEALED_PREFIX)


def test_a_marker_sent_by_a_client_reads_back_as_the_text_sent() -> None:
    sealer = Sealer([KEY_A])
    copied = sealer.seal("someone.else@example.jp")  # a token lifted from another event
    text = _message(nickname=copied, email=copied)

    sealed, _ = seal_payload(text, DEFAULT, sealer)
    resealed, _ = seal_payload(sealed, DEFAULT, sealer, fresh=False)

    sealing.configure([KEY_A])
    assert open_payload(sealed)["traits"] == {"nickname": copied, "email": copied}
    assert resealed == sealed  # stored data: markers are left as they are


def test_equal_values_of_one_request_share_a_token() -> None:
    sealer, memo = Sealer([KEY_A]), {}
    first, _ = seal_payload(_message(email="ann@example.jp"), DEFAULT, sealer, memo=memo)
    second, _ = seal_payload(_message(email="ann@example.jp"), DEFAULT, sealer, memo=memo)
    alone, _ = seal_payload(_message(email="ann@example.jp"), DEFAULT, sealer)

    assert first == second != alone


def test_a_reader_may_open_only_the_keys_it_needs() -> None:
    sealed, _ = seal_payload(
        _message(email="ann@example.jp", address=ADDRESS), DEFAULT, Sealer([KEY_A])
    )
    sealing.configure([KEY_A])

    traits = open_payload(sealed, only={"email"})["traits"]

    assert traits["email"] == "ann@example.jp"
    assert traits["address"].startswith(SEALED_PREFIX)


# --- through the real app --------------------------------------------------------------------


def _desk(settings: Settings, keys: list[str]) -> Iterator[Desk]:
    privacy = settings.privacy.model_copy(update={"encryption_keys": keys})
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    ingestion = settings.ingestion.model_copy(update={"source_cache_seconds": 0})
    ours = settings.model_copy(
        update={"privacy": privacy, "pipeline": pipeline, "ingestion": ingestion}
    )
    platform = Platform(ours)
    with TestClient(create_app(ours, platform)) as client:
        yield Desk(client, platform)


@pytest.fixture
def sealed_desk(settings: Settings) -> Iterator[Desk]:
    yield from _desk(settings, [KEY_A])


@pytest.fixture
def clear_desk(settings: Settings) -> Iterator[Desk]:
    yield from _desk(settings, [])


def _hanako(desk: Desk) -> None:
    desk.send(
        desk.crm,
        {
            "type": "identify",
            "userId": "u-hanako",
            "traits": {
                "email": "ann@example.jp",
                "firstName": "Hanako",
                "lastName": "Yamada",
                "lastNameKana": "ヤマダ",
                "address": ADDRESS,
                "plan": "gold",
            },
        },
        {
            "type": "track",
            "userId": "u-hanako",
            "event": "Order Completed",
            "properties": {"total": 5400},
            "context": {"traits": {"phone": "09012345678"}},
        },
    )


def _stored_text(desk: Desk) -> str:
    found = rows(desk.platform.db, "SELECT payload, violations FROM events ORDER BY seq")
    held = rows(desk.platform.db, "SELECT payload, violations FROM quarantined_events")
    return "\n".join(str(cell) for row in found + held for cell in row)


def test_stored_payloads_hold_no_personal_value_in_clear(sealed_desk: Desk) -> None:
    _hanako(sealed_desk)

    stored = _stored_text(sealed_desk)

    assert [s for s in SECRETS if s in stored] == []
    assert '"plan":"gold"' in stored and "5400" in stored


def test_the_api_the_profile_and_identity_resolution_see_the_values(sealed_desk: Desk) -> None:
    _hanako(sealed_desk)

    profile = sealed_desk.profile_of("email", "ann@example.jp")  # resolved from a sealed email
    events = sealed_desk.api("GET", "/events").json()["items"]

    assert profile.status_code == 200, profile.text
    traits = {k: v["value"] for k, v in profile.json()["traits"].items()}
    assert traits["address"] == ADDRESS
    assert traits["lastNameKana"] == "ヤマダ"
    assert traits["phone"] == "09012345678"
    phones = [i["value"] for i in profile.json()["identifiers"] if i["type"] == "phone"]
    assert phones == ["+819012345678"]
    identify = next(e for e in events if e["type"] == "identify")
    assert identify["payload"]["traits"]["firstName"] == "Hanako"


def test_an_export_holds_the_values_in_clear(sealed_desk: Desk) -> None:
    _hanako(sealed_desk)

    done = sealed_desk.done("export", "email", "ann@example.jp")
    files = sealed_desk.archive(done["id"])

    messages = [e["message"] for e in files["events.jsonl"]]
    assert messages[0]["traits"]["address"] == ADDRESS
    assert messages[1]["context"]["traits"]["phone"] == "09012345678"


def test_held_events_are_sealed_and_their_violations_quote_no_value(sealed_desk: Desk) -> None:
    plan = {"traits": {"properties": {"email": {"type": "string", "pattern": "@shop\\.jp$"}}}}
    with sealed_desk.platform.db.write() as session:
        set_tracking_plan(session, sealed_desk.crm.id, mode="quarantine", plan=plan)
        session.commit()
    _hanako(sealed_desk)

    held = sealed_desk.api("GET", "/quarantine").json()["items"]

    assert [s for s in SECRETS if s in _stored_text(sealed_desk)] == []
    assert held[0]["payload"]["traits"]["email"] == "ann@example.jp"
    assert held[0]["violations"] == [
        {
            "path": "traits.email",
            "keyword": "pattern",
            "message": "the value breaks 'pattern' (withheld: sealed)",
        }
    ]
    with sealed_desk.platform.db.write() as session:
        set_tracking_plan(session, sealed_desk.crm.id, mode="warn", plan=plan)
        session.commit()
    replayed = sealed_desk.api("POST", "/quarantine/replay", json={}).json()
    sealed_desk.platform.runner.run_until_idle()
    assert replayed == {"replayed": 1, "still_violating": 0}
    assert [s for s in SECRETS if s in _stored_text(sealed_desk)] == []
    assert sealed_desk.profile_of("email", "ann@example.jp").status_code == 200


def test_rotation_moves_every_value_to_the_new_key(sealed_desk: Desk) -> None:
    _hanako(sealed_desk)
    before = _stored_text(sealed_desk)
    db = sealed_desk.platform.db

    reports = reseal(db, Sealer([KEY_B, KEY_A]), batch=1)

    assert [(r.table, r.changed, r.unreadable) for r in reports] == [
        ("events", 2, 0),
        ("quarantined_events", 0, 0),
    ]
    assert reports[0].rotated == 6
    assert _stored_text(sealed_desk) != before
    sealing.configure([KEY_B])  # the old key is gone
    profile = sealed_desk.profile_of("email", "ann@example.jp").json()
    assert profile["traits"]["address"]["value"] == ADDRESS
    sealing.configure([KEY_A])
    events = sealed_desk.api("GET", "/events").json()["items"]
    assert events[-1]["payload"]["traits"]["email"].startswith(SEALED_PREFIX)


def test_sealing_existing_data_seals_what_was_written_in_clear(clear_desk: Desk) -> None:
    _hanako(clear_desk)
    assert "ann@example.jp" in _stored_text(clear_desk)

    reports = reseal(clear_desk.platform.db, Sealer([KEY_A]), personal=DEFAULT)

    assert reports[0].sealed_rows == 2
    assert [s for s in SECRETS if s in _stored_text(clear_desk)] == []
    sealing.configure([KEY_A])
    events = clear_desk.api("GET", "/events").json()["items"]
    assert events[-1]["payload"]["traits"]["lastNameKana"] == "ヤマダ"


def test_the_cli_rotates_and_reports(
    sealed_desk: Desk, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hanako(sealed_desk)
    monkeypatch.setenv("KIZUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KIZUNA_PRIVACY__ENCRYPTION_KEYS", orjson.dumps([KEY_B]).decode())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(privacy_app, ["rotate-encryption"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "events: 2 rows read, 0 rewritten, 0 values re-sealed" in result.output
    assert "6 values unreadable" in result.output  # KEY_A sealed them and is not configured
    assert "warning: 6 sealed values open with none of the configured keys" in result.output
