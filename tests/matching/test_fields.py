"""Column roles: inferred from usual names (English and Japanese) or given with --field."""

from __future__ import annotations

import pytest

from kizuna.matching.fields import FieldError, infer_roles, parse_overrides


def test_usual_english_headers_are_recognised() -> None:
    columns = ["ID", "First Name", "last_name", "DOB", "Suburb", "Postcode", "Address 1", "x"]
    assert infer_roles(columns, "ID") == {
        "given_name": "First Name",
        "surname": "last_name",
        "date_of_birth": "DOB",
        "city": "Suburb",
        "postcode": "Postcode",
        "address_1": "Address 1",
    }


def test_japanese_headers_are_recognised() -> None:
    columns = ["顧客番号", "氏名", "フリガナ", "生年月日", "電話番号", "郵便番号", "住所"]
    assert infer_roles(columns, "顧客番号") == {
        "full_name": "氏名",
        "full_name_kana": "フリガナ",
        "date_of_birth": "生年月日",
        "phone": "電話番号",
        "postcode": "郵便番号",
        "address_1": "住所",
    }


def test_a_given_field_wins_over_inference() -> None:
    roles = infer_roles(["id", "name", "nom", "born"], "id", parse_overrides(["full_name=nom"]))
    assert roles == {"full_name": "nom", "date_of_birth": "born"}


@pytest.mark.parametrize(
    ("columns", "overrides", "message"),
    [
        (["name", "dob"], [], "id column"),
        (["id", "dob", "phone"], [], "no name column"),
        (["id", "name"], [], "at least one more field"),
        (["id", "name", "dob"], ["colour=name"], "unknown role"),
        (["id", "name", "dob"], ["surname=missing"], "not in the file"),
        (["id", "name", "dob"], ["surname"], "ROLE=COLUMN"),
    ],
)
def test_unusable_field_choices_are_refused_clearly(
    columns: list[str], overrides: list[str], message: str
) -> None:
    with pytest.raises(FieldError, match=message):
        infer_roles(columns, "id", parse_overrides(overrides))
