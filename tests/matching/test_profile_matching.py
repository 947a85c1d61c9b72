"""An offline customer list matched against the profile store, on both backends.

Sure matches are linked (probabilistic evidence), the grey zone waits for review, a person
accepts (admin evidence) or rejects (never proposed again), and the API shows it all.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.support import bearer

SURNAMES = [
    ("佐藤", "Sato"), ("鈴木", "Suzuki"), ("高橋", "Takahashi"), ("田中", "Tanaka"),
    ("伊藤", "Ito"), ("渡辺", "Watanabe"), ("山本", "Yamamoto"), ("中村", "Nakamura"),
]  # fmt: skip
GIVEN = [
    ("太郎", "Taro"), ("花子", "Hanako"), ("翔太", "Shota"), ("陽菜", "Hina"),
    ("健一", "Kenichi"), ("美咲", "Misaki"), ("大輔", "Daisuke"), ("結衣", "Yui"),
]  # fmt: skip


def _people(n: int) -> list[dict[str, Any]]:
    pick = random.Random(11)
    people = []
    for i in range(n):
        surname, given = pick.choice(SURNAMES), pick.choice(GIVEN)
        people.append(
            {
                "user_id": f"u-{i}",
                "surname": surname,
                "given": given,
                "birthday": f"{pick.randint(1950, 2004)}-{pick.randint(1, 12):02d}-"
                f"{pick.randint(1, 28):02d}",
                "phone": f"090-{pick.randint(1000, 9999)}-{i:04d}",
                "email": f"{given[1].lower()}.{surname[1].lower()}{i}@example.jp",
                "postcode": f"{pick.randint(100, 999)}-{pick.randint(1000, 9999)}",
                "street": f"西新宿{pick.randint(1, 8)}-{pick.randint(1, 20)}-{pick.randint(1, 9)}",
            }
        )
    return people


class Store:
    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.admin = bearer(make_api_key(platform.db))
        self.crm = make_source(platform.db, "crm", "server")
        self.people = _people(60)
        batch = [
            {
                "type": "identify",
                "userId": p["user_id"],
                "traits": {
                    "lastName": p["surname"][0],
                    "firstName": p["given"][0],
                    "birthday": p["birthday"],
                    "email": p["email"],
                    "phone": p["phone"],
                    "address": {"postalCode": p["postcode"], "street": p["street"]},
                },
                "timestamp": "2026-11-01T09:00:00Z",
            }
            for p in self.people
        ]
        sent = client.post("/v1/batch", auth=(self.crm.write_key, ""), json={"batch": batch})
        assert sent.status_code == 200, sent.text
        platform.runner.run_until_idle()

    def upload(self, rows: list[dict[str, str]], **form: Any) -> Any:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return self.client.post(
            "/api/v1/identity/matches",
            headers=self.admin,
            files={"file": ("paper.csv", text.getvalue().encode(), "text/csv")},
            data={"id_column": "会員番号", "id_type": "paper_member", **form},
        )

    def api(self, method: str, path: str, **params: Any) -> Any:
        return self.client.request(method, f"/api/v1{path}", headers=self.admin, params=params)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    platform = Platform(external)
    with TestClient(create_app(external, platform)) as client:
        yield Store(client, platform)


def _paper_record(member: str, person: dict[str, Any], **changes: str) -> dict[str, str]:
    """How a store's paper-era list writes a customer: katakana-free romaji, other formats."""
    year, month, day = person["birthday"].split("-")
    record = {
        "会員番号": member,
        "氏名": f"{person['surname'][1]} {person['given'][1]}".upper(),
        "生年月日": f"{year}/{int(month)}/{int(day)}",
        "電話番号": person["phone"].replace("-", ""),
        "郵便番号": person["postcode"],
        "住所": person["street"].replace("-", "丁目", 1),
    }
    return record | changes


def test_a_sure_match_is_linked_and_the_record_joins_the_profile(store: Store) -> None:
    ann = store.people[3]
    rows = [_paper_record("P-1", ann)] + [
        _paper_record(f"P-{i}", p) for i, p in enumerate(store.people[10:30], start=10)
    ]

    answer = store.upload(rows)

    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert run["linked"] == 21
    assert run["roles"]["full_name"] == "氏名"
    found = store.api("GET", "/profiles/lookup", type="paper_member", value="P-1")
    assert found.status_code == 200, found.text
    profile = found.json()
    assert ("user_id", ann["user_id"]) in {(i["type"], i["value"]) for i in profile["identifiers"]}
    linked = store.api("GET", "/identity/matches", status="linked").json()["items"]
    ours = next(m for m in linked if m["record"]["value"] == "P-1")
    assert ours["profile_id"] == profile["id"]
    assert ours["probability"] >= 0.98
    assert ours["record"]["fields"]["氏名"] == f"{ann['surname'][1]} {ann['given'][1]}".upper()


def test_the_grey_zone_waits_for_a_person(store: Store) -> None:
    ben = store.people[5]
    # same name and birth date, but a new phone, a new address and no email: plausible, unsure
    doubtful = _paper_record(
        "P-2", ben, 電話番号="080-0000-1111", 郵便番号="999-9999", 住所="札幌市北区1-1-1"
    )
    rows = [doubtful] + [_paper_record(f"P-{i}", p) for i, p in enumerate(store.people[30:50], 30)]

    run = store.upload(rows, link_above="0.999", review_above="0.01").json()

    assert run["queued"] >= 1, run
    queue = store.api("GET", "/identity/matches").json()["items"]
    pending = [m for m in queue if m["record"]["value"] == "P-2"]
    assert pending and pending[0]["status"] == "pending"
    assert store.api("GET", "/profiles/lookup", type="paper_member", value="P-2").status_code == 404

    accepted = store.api("POST", f"/identity/matches/{pending[0]['id']}/accept")

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    found = store.api("GET", "/profiles/lookup", type="paper_member", value="P-2").json()
    assert found["id"] == pending[0]["profile_id"]
    again = store.api("POST", f"/identity/matches/{pending[0]['id']}/reject")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "matching.already_decided"


def test_a_rejected_pair_is_never_proposed_again(store: Store) -> None:
    ben = store.people[5]
    doubtful = _paper_record("P-2", ben, 電話番号="", 郵便番号="999-9999", 住所="札幌市北区1-1-1")
    rows = [doubtful] + [_paper_record(f"P-{i}", p) for i, p in enumerate(store.people[30:50], 30)]
    store.upload(rows, link_above="0.999", review_above="0.01")
    pending = [
        m for m in store.api("GET", "/identity/matches").json()["items"]
        if m["record"]["value"] == "P-2"
    ]  # fmt: skip
    assert store.api("POST", f"/identity/matches/{pending[0]['id']}/reject").status_code == 200

    store.upload(rows, link_above="0.999", review_above="0.01")

    again = [
        m for m in store.api("GET", "/identity/matches").json()["items"]
        if m["record"]["value"] == "P-2" and m["profile_id"] == pending[0]["profile_id"]
    ]  # fmt: skip
    assert again == []
    rejected = store.api("GET", "/identity/matches", status="rejected").json()["items"]
    assert [m["id"] for m in rejected] == [pending[0]["id"]]


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"id_column": "missing"}, "matching.bad_fields"),
        ({"id_type": "Bad Type"}, "request.invalid"),
        ({"link_above": "0.5", "review_above": "0.9"}, "matching.bad_thresholds"),
    ],
)
def test_bad_requests_get_clear_codes(store: Store, form: dict[str, str], code: str) -> None:
    answer = store.upload([_paper_record("P-1", store.people[0])], **form)
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["code"] == code


def test_unknown_matches_are_404(store: Store) -> None:
    answer = store.api("POST", "/identity/matches/999/accept")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "matching.not_found"
