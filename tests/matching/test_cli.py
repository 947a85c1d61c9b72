"""``kizuna identity dedupe`` and ``kizuna identity link`` on generated labelled lists."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from kizuna.matching.synthetic import generate, split_for_linking, write_csv


def kizuna(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kizuna", "identity", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def read_pairs(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def people():  # type: ignore[no-untyped-def]
    return generate(1500, seed=31)


def test_dedupe_finds_the_duplicates_of_a_japanese_list(people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing, output = tmp_path / "customers.csv", tmp_path / "pairs.csv"
    write_csv(listing, people.records)

    done = kizuna("dedupe", str(listing), "--id-column", "customer_id", "--output", str(output))

    assert done.returncode == 0, done.stderr
    pairs = read_pairs(output)
    assert list(pairs[0]) == ["left_id", "right_id", "probability"]
    assert all(0.5 <= float(p["probability"]) <= 1.0 for p in pairs)
    sure = {
        tuple(sorted((p["left_id"], p["right_id"])))
        for p in pairs
        if float(p["probability"]) >= 0.95
    }
    truth = {tuple(sorted(p)) for p in people.true_pairs()}
    hits = len(sure & truth)
    assert hits / len(sure) > 0.95  # precision
    assert hits / len(truth) > 0.95  # recall
    assert "given_name=given_name" in done.stderr  # the roles it inferred are shown


def test_link_pairs_records_across_two_lists(people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    left_rows, right_rows = split_for_linking(people, seed=31)
    left, right, output = tmp_path / "left.csv", tmp_path / "right.csv", tmp_path / "pairs.csv"
    write_csv(left, left_rows)
    write_csv(right, right_rows)

    done = kizuna(
        "link", str(left), str(right), "--id-column", "customer_id", "--output", str(output),
        "--threshold", "0.95",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    left_ids = {r["customer_id"] for r in left_rows}
    right_ids = {r["customer_id"] for r in right_rows}
    pairs = read_pairs(output)
    assert pairs and all(p["left_id"] in left_ids and p["right_id"] in right_ids for p in pairs)
    truth = {
        (a, b) if a in left_ids else (b, a)
        for a, b in people.true_pairs()
        if (a in left_ids) != (b in left_ids)
    }
    found = {(p["left_id"], p["right_id"]) for p in pairs}
    assert len(found & truth) / len(found) > 0.95
    assert len(found & truth) / len(truth) > 0.95


def test_roles_given_by_hand_for_unusual_headers(tmp_path: Path) -> None:
    listing, output = tmp_path / "odd.csv", tmp_path / "pairs.csv"
    rows = [
        {"no": "1", "shimei": "佐藤 太郎", "umare": "1980-01-02", "keitai": "090-1111-2222"},
        {"no": "2", "shimei": "サトウ タロウ", "umare": "1980/1/2", "keitai": "09011112222"},
        {"no": "3", "shimei": "鈴木 花子", "umare": "1975-05-05", "keitai": "080-3333-4444"},
    ]
    write_csv(listing, rows, columns=list(rows[0]))

    done = kizuna(
        "dedupe", str(listing), "--id-column", "no", "--output", str(output),
        "--field", "full_name=shimei", "--field", "date_of_birth=umare",
        "--field", "phone=keitai",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    pairs = read_pairs(output)
    assert [(p["left_id"], p["right_id"]) for p in pairs] == [("1", "2")]
    assert float(pairs[0]["probability"]) > 0.99


@pytest.mark.parametrize(
    ("header", "args", "code"),
    [
        ("id,name,dob", ["--id-column", "missing"], "matching.bad_fields"),
        ("id,dob,phone", ["--id-column", "id"], "matching.bad_fields"),
        ("id,name,dob", ["--id-column", "id", "--field", "colour=name"], "matching.bad_fields"),
    ],
)
def test_unusable_lists_are_refused_with_a_code(
    tmp_path: Path, header: str, args: list[str], code: str
) -> None:
    listing = tmp_path / "bad.csv"
    listing.write_text(f"{header}\n1,佐藤,1980-01-01\n2,鈴木,1981-01-01\n", encoding="utf-8")

    done = kizuna("dedupe", str(listing), "--output", str(tmp_path / "out.csv"), *args)

    assert done.returncode == 2
    assert f"[{code}]" in done.stderr


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    listing = tmp_path / "dup.csv"
    listing.write_text("id,name,dob\n1,佐藤,1980-01-01\n1,鈴木,1981-01-01\n", encoding="utf-8")

    done = kizuna("dedupe", str(listing), "--id-column", "id", "--output", str(tmp_path / "o.csv"))

    assert done.returncode == 2
    assert "[matching.bad_records]" in done.stderr
