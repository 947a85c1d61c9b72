"""Values as a matcher compares them: one spelling for every way a person writes the same thing.

Japanese customer lists write one name in kanji, katakana (full or half width), hiragana or
romaji (Hepburn or Kunrei, with or without long-vowel marks), so every name becomes one
*reading key*: its reading in Hepburn romaji, lower case, long vowels folded (Satō, SATOU,
Sato, さとう, ｻﾄｳ and 佐藤 are all ``sato``). Kanji are read with pykakasi's dictionary; a
name it reads differently from its owner (中島 as Nakajima or Nakashima) still matches on its
other fields. Dates of birth accept ISO, slashes, compact digits and the Japanese eras;
phones become E.164 with the identity rules' default region; postcodes keep their digits.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

import jaconv
import phonenumbers

_SPACES = re.compile(r"[\s\u3000・･,]+")
_MACRONS = str.maketrans({"ā": "a", "ī": "i", "ū": "u", "ē": "e", "ō": "o", "ô": "o", "û": "u"})
_LONG_VOWELS = [("ou", "o"), ("oo", "o"), ("uu", "u"), ("aa", "a"), ("ii", "i"), ("ee", "e")]
_OH = re.compile(r"oh(?=[^aiueoy]|$)")  # passport spelling: Ohno, Saitoh
_M_BEFORE_LABIAL = re.compile(r"m(?=[bmp])")  # Homma = Honma
_KANJI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_ROMAJI = re.compile(r"^[a-z'\-]+$")
# variant kanji common in names, read as their usual form (pykakasi knows only the latter)
_ITAIJI = str.maketrans("髙﨑邊邉齋齊澤濱櫻廣國眞嶋籠𠮷", "高崎辺辺斎斉沢浜桜広国真島篭吉")


@lru_cache(maxsize=1)
def _kakasi() -> Any:
    import pykakasi

    return pykakasi.kakasi()  # type: ignore[no-untyped-call]


def _hepburn(kana_or_kanji: str) -> str:
    parts: list[str] = []
    for part in _kakasi().convert(kana_or_kanji):
        if part["orig"] == "々" and parts:  # the repetition mark outside a known word: 菜々子
            parts.append(parts[-1])
        else:
            parts.append(part["hepburn"])
    return "".join(parts)


@lru_cache(maxsize=200_000)
def reading_key(text: str) -> str:
    """One token of a name (no spaces) as its folded Hepburn reading; "" when it has none."""
    token = unicodedata.normalize("NFKC", text).strip().lower().translate(_MACRONS)
    if not token:
        return ""
    if _KANA_OR_KANJI.search(token):
        romaji = _hepburn(jaconv.kata2hira(token.translate(_ITAIJI)))
        if re.search(r"[^a-z' \-]", romaji):  # a character without a reading: keep it
            return token
    elif _ROMAJI.match(token):
        spelt = _M_BEFORE_LABIAL.sub("n", _OH.sub("o", token.replace("-", "")))
        # through kana and back: Kunrei (si, tu, syo) and Hepburn (shi, tsu, sho) meet
        kana = jaconv.alphabet2kana(spelt)
        romaji = _hepburn(kana) if not re.search(r"[a-z]", kana) else spelt
    else:
        romaji = token
    folded = romaji.replace("'", "").replace("-", "")
    for long, short in _LONG_VOWELS:
        folded = folded.replace(long, short)
    return re.sub(r"[^a-z]", "", folded)


def _kanji_words(text: str) -> list[str]:
    """A whole name written in kanji without a space, cut into its dictionary words."""
    if not _KANJI.match(unicodedata.normalize("NFKC", text)):
        return []
    words = [part["orig"] for part in _kakasi().convert(text.translate(_ITAIJI))]
    return words if len(words) > 1 else []


def name_tokens(*parts: str) -> list[str]:
    """Every word of the name columns, as reading keys, in the order written."""
    tokens: list[str] = []
    for part in parts:
        tokens += [k for t in _SPACES.split(part or "") if (k := reading_key(t))]
    return tokens


def person_name(surname: str, given: str, full: str = "") -> tuple[str, str]:
    """(surname key, given-name key) from whatever columns a list has.

    A name written whole in one column ("佐藤 太郎", "Taro Sato") is split on its space; the
    order stays as written, since the model's swapped-columns level forgives the other order.
    """
    written = [p for p in (surname, given, full) if p and p.strip()]
    if len(written) == 1 and not _SPACES.search(written[0].strip()):
        parts = _kanji_words(written[0].strip())
        if parts:  # "荒井和彦" in one column: the dictionary knows where the surname ends
            return reading_key(parts[0]), "".join(reading_key(p) for p in parts[1:])
    surname_tokens = name_tokens(surname)
    given_tokens = name_tokens(given)
    if not surname_tokens and not given_tokens:
        surname_tokens = name_tokens(full)
    if surname_tokens and not given_tokens and len(surname_tokens) > 1:
        return surname_tokens[0], "".join(surname_tokens[1:])
    if given_tokens and not surname_tokens and len(given_tokens) > 1:
        return given_tokens[0], "".join(given_tokens[1:])
    return "".join(surname_tokens), "".join(given_tokens)


_ERAS = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}
_ERA_LETTERS = {"m": 1867, "t": 1911, "s": 1925, "h": 1988, "r": 2018}
_ISO_LIKE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA_NAME = re.compile(
    r"^(明治|大正|昭和|平成|令和)\s*(\d{1,2}|元)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"
)
_ERA_LETTER = re.compile(r"^([mtshr])\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def birth_date(text: str) -> str:
    """ISO ``YYYY-MM-DD``, or "" when the text is not a real date."""
    value = unicodedata.normalize("NFKC", text or "").strip().lower()
    if not value:
        return ""
    year = month = day = 0
    if m := _ISO_LIKE.match(value) or _COMPACT.match(value):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _ERA_NAME.match(value):
        year = _ERAS[m[1]] + (1 if m[2] == "元" else int(m[2]))
        month, day = int(m[3]), int(m[4])
    elif m := _ERA_LETTER.match(value):
        year = _ERA_LETTERS[m[1]] + int(m[2])
        month, day = int(m[3]), int(m[4])
    elif m := _DAY_FIRST.match(value):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def phone(text: str, region: str = "JP") -> str:
    """E.164 when the number parses, else its digits ("" when it has fewer than 7)."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) >= 7 else ""


_PERSONAL_PREFIXES = ("+8170", "+8180", "+8190", "+8150", "+8160", "+8120")


def is_household_line(e164: str) -> bool:
    """A Japanese fixed line (03-..., 045-...): shared by everyone at home, unlike a mobile."""
    return e164.startswith("+81") and not e164.startswith(_PERSONAL_PREFIXES)


def has_kanji(text: str) -> bool:
    return bool(_KANJI.search(text))


def email(text: str) -> str:
    value = unicodedata.normalize("NFKC", text or "").strip().casefold()
    return value if "@" in value else ""


def postcode(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text or ""))


_ADDRESS_MARKS = [("丁目", "-"), ("番地", "-"), ("番", "-"), ("号", ""), ("の", "-")]
_DASHES = re.compile(r"[\-‐‑‒–—―−ーｰ－]+")


def address(text: str) -> str:
    """NFKC, no spaces, chōme-ban-gō written with hyphens, kana readings of romaji kept as is."""
    value = unicodedata.normalize("NFKC", text or "").lower()
    value = re.sub(r"\s+", "", value)
    for mark, written in _ADDRESS_MARKS:
        value = value.replace(mark, written)
    return _DASHES.sub("-", value).strip("-")


def place(text: str) -> str:
    """A prefecture or city: NFKC, no spaces, without its 都/道/府/県/市/区/町/村 suffix."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "").lower())
    return re.sub(r"(都|道|府|県|市|区|町|村)$", "", value) if len(value) > 2 else value
