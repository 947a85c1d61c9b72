"""Which column of a customer list holds what: inferred from usual names or given by the user."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from kizuna.errors import KizunaError

ROLES: dict[str, tuple[str, ...]] = {
    "surname": (
        "surname",
        "last_name",
        "lastname",
        "family_name",
        "familyname",
        "lname",
        "sei",
        "姓",
        "苗字",
        "名字",
        "氏",
    ),
    "given_name": (
        "given_name",
        "givenname",
        "first_name",
        "firstname",
        "forename",
        "fname",
        "given",
        "mei",
        "名",
    ),
    "full_name": ("name", "full_name", "fullname", "customer_name", "氏名", "名前", "お名前"),
    "surname_kana": ("surname_kana", "last_name_kana", "sei_kana", "セイ", "姓カナ", "姓ふりがな"),
    "given_name_kana": (
        "given_name_kana",
        "first_name_kana",
        "mei_kana",
        "メイ",
        "名カナ",
        "名ふりがな",
    ),
    "full_name_kana": (
        "name_kana",
        "full_name_kana",
        "kana",
        "furigana",
        "フリガナ",
        "ふりがな",
        "氏名カナ",
        "氏名フリガナ",
        "カナ",
    ),
    "date_of_birth": (
        "date_of_birth",
        "dob",
        "birth_date",
        "birthdate",
        "birthday",
        "born",
        "生年月日",
        "誕生日",
    ),
    "phone": (
        "phone",
        "phone_number",
        "phonenumber",
        "tel",
        "telephone",
        "mobile",
        "mobile_phone",
        "cell",
        "電話",
        "電話番号",
        "携帯",
        "携帯電話",
        "携帯番号",
    ),
    "email": ("email", "e_mail", "mail", "email_address", "メール", "メールアドレス", "eメール"),
    "postcode": (
        "postcode",
        "post_code",
        "postal_code",
        "postalcode",
        "zip",
        "zipcode",
        "zip_code",
        "郵便番号",
        "〒",
    ),
    "prefecture": ("prefecture", "state", "province", "region", "都道府県", "県"),
    "city": ("city", "suburb", "town", "locality", "municipality", "市区町村", "市区郡"),
    "address_1": (
        "address_1",
        "address1",
        "address_line_1",
        "addressline1",
        "street",
        "street_address",
        "address",
        "住所",
        "住所1",
        "番地",
        "町名番地",
    ),
    "address_2": (
        "address_2",
        "address2",
        "address_line_2",
        "addressline2",
        "building",
        "apartment",
        "建物",
        "建物名",
        "住所2",
    ),
}
_BY_HEADER = {alias: role for role, aliases in ROLES.items() for alias in aliases}
NAME_ROLES = ("surname", "given_name", "full_name", "surname_kana", "given_name_kana",
              "full_name_kana")  # fmt: skip


class FieldError(KizunaError):
    status = 400
    code = "matching.bad_fields"


def header_key(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).strip().lower()
    return re.sub(r"[\s\-./]+", "_", text).strip("_")


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """``--field ROLE=COLUMN`` options as a dict, checked against the known roles."""
    chosen: dict[str, str] = {}
    for pair in pairs:
        role, sep, column = pair.partition("=")
        role = role.strip()
        if not sep or not column.strip():
            raise FieldError(f"--field takes ROLE=COLUMN, not {pair!r}")
        if role not in ROLES:
            raise FieldError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        chosen[role] = column.strip()
    return chosen


def infer_roles(
    columns: Sequence[str], id_column: str, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Role -> column. Given columns win; the rest are recognised by their usual names."""
    if id_column not in columns:
        raise FieldError(f"the id column {id_column!r} is not in the file ({', '.join(columns)})")
    chosen = dict(overrides or {})
    for role, column in chosen.items():
        if column not in columns:
            raise FieldError(f"column {column!r} given for {role} is not in the file")
    taken = {id_column, *chosen.values()}
    for column in columns:
        known = _BY_HEADER.get(header_key(column))
        if column in taken or known is None or known in chosen:
            continue
        chosen[known] = column
        taken.add(column)
    if not any(role in chosen for role in NAME_ROLES):
        raise FieldError(
            "no name column recognised: name one with --field surname=COLUMN, "
            "--field given_name=COLUMN or --field full_name=COLUMN"
        )
    if len(chosen) < 2:
        raise FieldError("a match needs a name and at least one more field (birth date, ...)")
    return chosen
