"""Every way a Japanese customer list writes one value normalises to one comparable form."""

from __future__ import annotations

import pytest

from kizuna.matching import normalise as n


@pytest.mark.parametrize(
    "written",
    ["佐藤", "サトウ", "ｻﾄｳ", "さとう", "Satō", "SATOU", "Sato", "Satoh", "ｓａｔｏ"],
)
def test_every_script_of_a_surname_has_one_reading_key(written: str) -> None:
    assert n.reading_key(written) == "sato"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("翔太", "syouta"),  # Kunrei meets Hepburn
        ("本間", "Homma"),  # m before a labial
        ("大野", "Ohno"),  # passport spelling
        ("純一", "Jun'ichi"),
        ("髙橋", "高橋"),  # variant kanji
        ("𠮷田", "Yoshida"),
        ("ジュンイチ", "junichi"),
    ],
)
def test_variants_of_one_name_meet(a: str, b: str) -> None:
    assert n.reading_key(a) == n.reading_key(b) != ""


def test_different_names_stay_apart() -> None:
    keys = {n.reading_key(x) for x in ["佐藤", "加藤", "斎藤", "伊藤", "後藤"]}
    assert len(keys) == 5


def test_a_name_written_whole_in_one_column_is_split_on_its_space() -> None:
    assert n.person_name("佐藤\u3000太郎", "") == ("sato", "taro")
    assert n.person_name("", "", "Taro Sato") == ("taro", "sato")
    assert n.person_name("佐藤", "太郎") == ("sato", "taro")


@pytest.mark.parametrize(
    "written",
    [
        "1985-03-04",
        "1985/3/4",
        "19850304",
        "S60.3.4",
        "昭和60年3月4日",
        "1985年03月04日",
        "１９８５／３／４",
        "4/3/1985",
    ],
)
def test_birth_dates_in_every_usual_format(written: str) -> None:
    assert n.birth_date(written) == "1985-03-04"


def test_the_first_year_of_an_era_and_impossible_dates() -> None:
    assert n.birth_date("平成元年1月8日") == "1989-01-08"
    assert n.birth_date("1985-02-30") == ""
    assert n.birth_date("unknown") == ""


@pytest.mark.parametrize(
    "written", ["090-1234-5678", "+81 90-1234-5678", "(090)1234-5678", "０９０１２３４５６７８"]
)
def test_phones_become_e164(written: str) -> None:
    assert n.phone(written) == "+819012345678"


def test_addresses_and_places() -> None:
    assert n.address("西新宿2丁目8番1号") == n.address("西新宿２－８－１") == "西新宿2-8-1"
    assert n.place("東京都") == "東京"
    assert n.postcode("〒160-0023") == "1600023"
    assert n.email(" Ann@Example.COM ") == "ann@example.com"
    assert n.email("not an email") == ""
