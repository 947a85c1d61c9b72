"""Customer records as the matcher compares them: one normalised column per role."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from kizuna.errors import KizunaError
from kizuna.matching import normalise as n

# The columns the model compares (None where a record has no value).
Table = dict[str, list[str | None]]
COMPARED = (
    "surname", "given_name", "given_kanji", "name_key", "dob", "phone", "landline", "email",
    "postcode", "address",
)  # fmt: skip


class RecordsError(KizunaError):
    status = 400
    code = "matching.bad_records"


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 (BOM allowed) CSV file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
            return list(reader.fieldnames or []), rows
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RecordsError(f"cannot read {path}: {error}") from error


def _name(row: Mapping[str, str], roles: Mapping[str, str], suffix: str = "") -> tuple[str, str]:
    def get(role: str) -> str:
        column = roles.get(role + suffix)
        return row.get(column, "") if column else ""

    return n.person_name(get("surname"), get("given_name"), get("full_name"))


def compared_values(
    row: Mapping[str, str], roles: Mapping[str, str], region: str = "JP"
) -> dict[str, str | None]:
    """One record's compared columns. A kana reading column, when the list has one, wins."""

    def get(role: str) -> str:
        column = roles.get(role)
        return row.get(column, "") if column else ""

    surname, given = _name(row, roles, "_kana")
    if not (surname or given):
        surname, given = _name(row, roles)
    written_given = get("given_name").strip()
    phone = n.phone(get("phone"), region)
    household = n.is_household_line(phone)
    place = n.place(get("prefecture")) + n.place(get("city"))
    street = n.address(get("address_1"))
    values = {
        "surname": surname,
        "given_name": given,
        "name_key": " ".join(sorted(filter(None, (surname, given)))),
        "dob": n.birth_date(get("date_of_birth")),
        "given_kanji": written_given if n.has_kanji(written_given) else "",
        "phone": "" if household else phone,
        "landline": phone if household else "",
        "email": n.email(get("email")),
        "postcode": n.postcode(get("postcode")),
        "address": (place + street + n.address(get("address_2"))) if street else "",
    }
    return {k: (v or None) for k, v in values.items()}


def prepare(
    rows: Iterable[Mapping[str, str]],
    roles: Mapping[str, str],
    id_column: str,
    *,
    region: str = "JP",
    source: str = "",
) -> Table:
    """Column-wise table for the matcher: ``unique_id`` first, then every compared column."""
    table: Table = {"unique_id": [], **{c: [] for c in COMPARED}}
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        record_id = (row.get(id_column) or "").strip()
        if not record_id:
            raise RecordsError(f"{source or 'file'} line {number}: empty {id_column}")
        if record_id in seen:
            raise RecordsError(f"{source or 'file'} line {number}: {id_column} {record_id!r} twice")
        seen.add(record_id)
        table["unique_id"].append(record_id)
        for column, value in compared_values(row, roles, region).items():
            table[column].append(value)
    return table
