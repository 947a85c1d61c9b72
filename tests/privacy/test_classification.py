"""Which trait fields are personal: built-in defaults, configuration, and tracking-plan marks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from kizuna.app import create_app
from kizuna.auth.service import create_console_user, open_session
from kizuna.config import PrivacySettings, Settings
from kizuna.console.web import SESSION_COOKIE
from kizuna.db import Database
from kizuna.ingestion.plans import PlanInvalid, compile_plan
from kizuna.privacy.classification import (
    BUILT_IN,
    DEFAULT,
    Origin,
    PlanMarks,
    classify,
    plan_marks,
)
from kizuna.privacy.personal_fields import personal_fields
from kizuna.runtime import Platform
from kizuna.sources.service import set_tracking_plan
from tests.factories import make_api_key, make_source
from tests.support import bearer

MARKED_PLAN = {
    "traits": {
        "type": "object",
        "properties": {
            "email": {"type": "string", "x-kizuna-personal": True},
            "loyaltyCard": {"type": "string", "x-kizuna-personal": "identifier"},
            "nickname": {"type": "string", "x-kizuna-personal": True},
            "plan": {"type": "string", "x-kizuna-personal": False},
            "tier": {"type": "string"},
        },
    }
}


# --- defaults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "category"),
    [
        ("email", "contact"),
        ("phone", "contact"),
        ("firstName", "name"),
        ("last_name", "name"),
        ("lastNameKana", "name"),
        ("name_kana", "name"),
        ("username", "name"),
        ("birthday", "demographic"),
        ("age", "demographic"),
        ("gender", "demographic"),
        ("address", "location"),
    ],
)
def test_segment_personal_traits_are_personal_by_default(key: str, category: str) -> None:
    assert key in DEFAULT
    assert DEFAULT.fields[key].category == category
    assert DEFAULT.fields[key].origins == (Origin("built-in"),)


@pytest.mark.parametrize("key", ["plan", "createdAt", "company", "title", "website", "id"])
def test_business_traits_are_not_personal_by_default(key: str) -> None:
    assert key not in DEFAULT


def test_the_listing_is_ordered_by_category_then_key() -> None:
    listing = DEFAULT.listing()

    assert [f.key for f in listing[:4]] == ["email", "phone", "phoneNumber", "phone_number"]
    assert listing[-1].key == "address"
    assert len(listing) == len(BUILT_IN)


# --- configuration ---------------------------------------------------------------------------


def test_configuration_adds_keys_and_may_recategorise_a_built_in_one() -> None:
    found = classify({"loyaltyRank": "other", "email": "identifier"})

    assert found.fields["loyaltyRank"].category == "other"
    assert found.fields["loyaltyRank"].origins == (Origin("configuration"),)
    assert found.fields["email"].category == "identifier"
    assert found.fields["email"].origins == (Origin("built-in"), Origin("configuration"))


def test_settings_read_personal_traits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIZUNA_PRIVACY__PERSONAL_TRAITS", '{"memberNo": "identifier"}')

    assert Settings().privacy.personal_traits == {"memberNo": "identifier"}


def test_settings_refuse_an_unknown_category() -> None:
    with pytest.raises(ValueError, match="personal_traits"):
        PrivacySettings.model_validate({"personal_traits": {"memberNo": "secret"}})


# --- tracking plans --------------------------------------------------------------------------


def test_a_json_schema_validator_ignores_the_mark() -> None:
    schema = MARKED_PLAN["traits"]

    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors({"email": "a@example.jp"})) == []
    assert len(list(Draft202012Validator(schema).iter_errors({"email": 12}))) == 1


def test_compile_plan_keeps_the_marked_trait_keys() -> None:
    plan = compile_plan(MARKED_PLAN, "warn", 3)

    assert plan.personal_traits == {
        "email": "other",
        "loyaltyCard": "identifier",
        "nickname": "other",
    }
    assert plan.violations({"type": "identify", "traits": {"email": "a@example.jp"}}) == []


@pytest.mark.parametrize("mark", ["secret", 1, None, ["contact"]])
def test_compile_plan_refuses_a_mark_that_names_no_category(mark: object) -> None:
    plan = {"traits": {"properties": {"memberNo": {"x-kizuna-personal": mark}}}}

    with pytest.raises(PlanInvalid, match="x-kizuna-personal"):
        compile_plan(plan, "allow", 1)


def test_plan_marks_read_only_top_level_properties() -> None:
    schema = {
        "properties": {
            "address": {"type": "object", "properties": {"city": {"x-kizuna-personal": True}}}
        }
    }

    assert plan_marks(schema) == {}
    assert plan_marks(None) == {}
    assert plan_marks({"properties": []}) == {}


def test_a_plan_mark_keeps_a_built_in_category_and_adds_its_origin() -> None:
    web = PlanMarks("src_web", "web", {"email": "other", "nickname": "other"})
    crm = PlanMarks("src_crm", "crm", {"nickname": "name"})

    found = classify(None, [web, crm])

    assert found.fields["email"].category == "contact"
    assert found.fields["email"].origins == (Origin("built-in"), Origin("plan", "src_web", "web"))
    assert found.fields["nickname"].category == "name"  # crm sorts before web
    assert found.fields["nickname"].origins == (
        Origin("plan", "src_crm", "crm"),
        Origin("plan", "src_web", "web"),
    )
    assert str(found.fields["nickname"].origins[0]) == "plan of crm"


def test_every_sources_plan_counts_whatever_its_mode(db: Database) -> None:
    web = make_source(db, "web", "web")
    make_source(db, "crm", "server")
    with db.write() as session:
        set_tracking_plan(session, web.id, mode="allow", plan=MARKED_PLAN)
        session.commit()

    with db.read() as session:
        found = personal_fields(session, {"memberNo": "identifier"})

    assert found.fields["loyaltyCard"].origins == (Origin("plan", web.id, "web"),)
    assert found.fields["memberNo"].origins == (Origin("configuration"),)
    assert "tier" not in found
    assert "plan" not in found


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings) -> Iterator[tuple[TestClient, Platform]]:
    configured = settings.privacy.model_copy(update={"personal_traits": {"memberNo": "other"}})
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    ours = settings.model_copy(update={"privacy": configured, "pipeline": pipeline})
    platform = Platform(ours)
    with TestClient(create_app(ours, platform)) as test_client:
        yield test_client, platform


def test_the_api_lists_personal_fields_with_origin_and_sealing(
    client: tuple[TestClient, Platform],
) -> None:
    test_client, platform = client
    web = make_source(platform.db, "web", "web")
    admin = bearer(make_api_key(platform.db))
    test_client.put(
        f"/api/v1/sources/{web.id}/tracking-plan",
        json={"mode": "warn", "plan": MARKED_PLAN},
        headers=admin,
    ).raise_for_status()

    answer = test_client.get("/api/v1/privacy/personal-fields", headers=admin)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["sealing"] is False
    assert body["encryption_keys"] == 0
    fields = {item["field"]: item for item in body["items"]}
    assert fields["memberNo"]["origins"] == [
        {"kind": "configuration", "source_id": None, "source_name": None}
    ]
    assert fields["loyaltyCard"] == {
        "field": "loyaltyCard",
        "category": "identifier",
        "origins": [{"kind": "plan", "source_id": web.id, "source_name": "web"}],
        "sealed": False,
    }
    assert fields["email"]["category"] == "contact"
    assert [o["kind"] for o in fields["email"]["origins"]] == ["built-in", "plan"]


@pytest.mark.parametrize("role", ["readonly", "analyst", "marketer", "support"])
def test_only_privacy_admins_list_personal_fields(
    client: tuple[TestClient, Platform], role: str
) -> None:
    test_client, platform = client

    answer = test_client.get(
        "/api/v1/privacy/personal-fields", headers=bearer(make_api_key(platform.db, role))
    )

    assert answer.status_code == 403


def test_the_console_privacy_page_lists_personal_fields(
    client: tuple[TestClient, Platform],
) -> None:
    test_client, platform = client
    with platform.db.write() as session:
        user = create_console_user(
            session, email="dpo@example.com", password="a long passphrase", role="admin"
        )
        token = open_session(session, user, hours=1).token
        session.commit()

    page = test_client.get(
        "/console/privacy", headers={"Cookie": f"{SESSION_COOKIE}={token}; kizuna_lang=en"}
    )

    assert page.status_code == 200, page.text
    assert 'data-sealing="off"' in page.text
    assert '<tr class="personal-field" data-field="memberNo">' in page.text
    assert "<td><code>lastNameKana</code></td>\n        <td>Name</td>" in page.text
