"""A labelled benchmark for Japanese customer-record linkage: people, noisy duplicates, truth.

`generate(n)` makes n people in households (couples and adult children share surname, postcode,
address and sometimes a home phone), renders one record per person and gives a share of them
1–3 extra records, each changed by 1–3 noise operations (NOISE_RATES). Records are shuffled and
numbered C0000001…; `person_of` maps every record id to its true person number.

Choices worth knowing:
- Ages are measured against REFERENCE_DATE (fixed, so a seed always gives the same data).
- The first ("clean") record of a person is not canonical: its name is in kanji (70%),
  katakana (20%) or romaji (10%), phone present ~85%, email ~70%, building ~40%.
- Hard negatives: namesakes (1.5% of single-person households copy the full name of an earlier
  person, a fifth of them born the same year) on top of natural collisions of common names;
  family members; twins (same surname, address and date of birth, different given name).
- Mobiles and emails are unique per person; a home landline is shared by a household.
- `noise_of` (extra field, default empty) lists the operations applied to each duplicate.
- `split_for_linking`: every person with 2+ records has one record in LEFT and one in RIGHT;
  a third or fourth record goes to a random side, so LEFT and RIGHT each hold a few
  within-file duplicates. A person's single record goes to a random side.
"""

from __future__ import annotations

import csv
import gc
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate, combinations
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

from kizuna.matching import japanese_names as jn
from kizuna.matching.japanese_names import Name, Town

COLUMNS = ("customer_id", "surname", "given_name", "date_of_birth", "phone", "email",
           "postcode", "prefecture", "city", "address_1", "address_2")  # fmt: skip
REFERENCE_DATE = date(2025, 1, 1)
_MIN_DOB, _MAX_DOB = date(1939, 1, 2).toordinal(), date(2007, 1, 1).toordinal()  # ages 18–85

# Share of noise operations drawn for duplicates (an operation that cannot apply, e.g. a phone
# format for a record without phone, is replaced by another draw). Listed in the order applied.
NOISE_RATES: dict[str, float] = {
    "married_name": 0.015,  # women only: another surname, everything else unchanged
    "name_script": 0.20,  # kanji/katakana/hiragana/half-width kana/romaji variants/full-width
    "moved": 0.08,  # another postcode, prefecture, city, address_1 (and building)
    "new_contact": 0.08,  # a new email or a second mobile number
    "name_order": 0.06,  # columns swapped, or the full name in one column
    "missing": 0.13,  # one or two fields (or field groups) blanked
    "typo": 0.15,  # one edit in a name, email, address or phone; wrong kanji for names
    "dob_typo": 0.025,  # day/month swapped, a day or ten off, year ±1 or ±10
    "dob_format": 0.12,  # 1985/3/4, 19850304, S60.3.4, 昭和60年3月4日, 1985年03月04日 …
    "phone_format": 0.09,  # 09012345678, +81 90-…, (090)1234-5678, full-width …
    "address_format": 0.05,  # 2丁目8番1号, full-width digits, prefecture+city prefixed, 〒
}
_OPS, _OPS_CUM = tuple(NOISE_RATES), tuple(accumulate(NOISE_RATES.values()))
_STATE_OPS = frozenset({"married_name", "name_script", "moved", "new_contact"})
_T = TypeVar("_T")
_Home = tuple[Town, str, str, str]  # town, address_1, address_2, landline

# How the first record writes the name: kanji 70%, katakana 20%, romaji 10% (mostly "Sato")
_LOOKS = (
    ("kanji", "plain", "title"),
    ("katakana", "plain", "title"),
    *(("romaji", s, c) for s in ("plain", "macron", "oh", "wapuro") for c in ("title", "upper")),
)
_LOOKS_CUM = tuple(accumulate((70, 20, *(w * c for w in (7.5, 1, 1, 0.5) for c in (0.7, 0.3)))))
_DOMAIN_CUM = tuple(accumulate(jn.EMAIL_DOMAIN_WEIGHTS))
_DATE_FORMATS, _DATE_CUM = tuple(jn.DATE_FORMATS), tuple(accumulate(jn.DATE_FORMATS.values()))
_PHONE_FORMATS, _PHONE_CUM = tuple(jn.PHONE_FORMATS), tuple(accumulate(jn.PHONE_FORMATS.values()))
_MISSING = (("phone",), ("email",), ("date_of_birth",), ("address_1", "address_2"), ("address_2",),
            ("postcode",), ("prefecture", "city"), ("given_name",))  # fmt: skip
_MISSING_CUM = tuple(accumulate((25, 22, 18, 8, 10, 9, 4, 4)))
_TYPO_FIELDS = ("surname", "given_name", "email", "address_1", "phone", "address_2")
_ADDRESS_FIELDS = ("postcode", "prefecture", "city", "address_1", "address_2")


@dataclass(frozen=True)
class LabelledRecords:
    records: list[dict[str, str]]  # CSV rows; every value a str ("" when missing)
    person_of: dict[str, int]  # record id -> true person number
    noise_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> ops applied

    def true_pairs(self) -> set[tuple[str, str]]:
        """Every (a, b) with a < b of two records of the same person."""
        groups: dict[int, list[str]] = {}
        for rid, person in self.person_of.items():
            groups.setdefault(person, []).append(rid)
        return {pair for ids in groups.values() for pair in combinations(sorted(ids), 2)}


@dataclass(slots=True)
class _Person:
    surname: Name
    given: Name
    dob: date
    phone: str
    email: str
    town: Town
    address_1: str
    address_2: str
    scripts: tuple[str, str]  # how (surname, given name) are written, one of jn.SCRIPTS
    style: str  # romaji style, one of jn.ROMAJI_STYLES
    case: str  # title | upper | lower


_FIELDS = attrgetter(*_Person.__slots__)  # to copy a person


def _pick(rng: random.Random, items: Sequence[_T], cum: Sequence[float]) -> _T:
    return items[bisect(cum, rng.random() * cum[-1])]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.people: list[_Person] = []

    def num(self, low: int, high: int) -> int:  # random.randint, three times faster
        return low + int(self.rng.random() * (high - low + 1))

    def one(self, items: Sequence[_T]) -> _T:
        return items[int(self.rng.random() * len(items))]

    # -- people ---------------------------------------------------------------------------
    def household(self, limit: int) -> None:
        rng = self.rng
        size = min(limit, 1 if rng.random() < 0.62 else self.one((2, 2, 2, 3, 3, 4)))
        town = _pick(rng, jn.TOWNS, jn.TOWN_CUM)
        building = self.building(town) if rng.random() < 0.4 else ""
        landline = self.landline(town) if rng.random() < (0.4 if size > 1 else 0.08) else ""
        home = (town, self.address_1(town), building, landline)
        head = self.dob(_MIN_DOB, _MAX_DOB)
        if size == 1 and self.people and rng.random() < 0.015:  # a namesake of someone else
            other = self.one(self.people)
            born, year = other.dob.toordinal(), other.dob.year
            head = self.dob(born - 3650, born + 3650)  # within ten years, a fifth the same year
            if rng.random() < 0.2:
                head = self.dob(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal())
            self.add(other.given.sex, head, other.surname, home, other.given)
            return
        members = [(self.one("MF"), head)]
        if size > 1:
            spouse = head.toordinal() + round(rng.gauss(0, 3 * 365))
            members.append(("F" if members[0][0] == "M" else "M", self.dob(spouse, spouse)))
        for _ in range(size - 2):
            child = min(d for _, d in members[:2]).toordinal() + self.num(22, 38) * 365
            if rng.random() < 0.05 and len(members) > 2:
                child = members[-1][1].toordinal()  # twins
            if child <= _MAX_DOB:
                members.append((self.one("MF"), date.fromordinal(child)))
        surname = _pick(rng, jn.SURNAMES, jn.SURNAME_CUM)
        taken: set[str] = set()
        for sex, dob in members:
            taken.add(self.add(sex, dob, surname, home, None, taken).given.kana)

    def add(self, sex: str, dob: date, surname: Name, home: _Home, given: Name | None,
            taken: set[str] | None = None) -> _Person:  # fmt: skip
        rng = self.rng
        while given is None or (taken and given.kana in taken):
            given = _pick(rng, *jn.given_names_for(sex, dob.year))
        phone = self.mobile() if rng.random() < 0.85 else ""
        if home[3] and (not phone or rng.random() < 0.25):
            phone = home[3]
        email = self.email(surname, given, dob) if rng.random() < 0.7 else ""
        script, style, case = _pick(rng, _LOOKS, _LOOKS_CUM)
        person = _Person(surname, given, dob, phone, email, *home[:3], (script, script),
                         style, case)  # fmt: skip
        self.people.append(person)
        return person

    def dob(self, low: int, high: int) -> date:  # between two day ordinals, within ages 18–85
        low, high = min(max(low, _MIN_DOB), _MAX_DOB), min(max(high, _MIN_DOB), _MAX_DOB)
        return date.fromordinal(self.num(low, high))

    def address_1(self, town: Town) -> str:
        if town.has_chome:
            return f"{town.town}{self.num(1, 5)}-{self.num(1, 30)}-{self.num(1, 25)}"
        if self.rng.random() < 0.6:
            return f"{town.town}{self.num(1, 40)}-{self.num(1, 20)}"
        return f"{town.town}{self.num(1, 2500)}"

    def building(self, town: Town) -> str:
        head, tail = self.one(jn.BUILDING_HEADS), self.one(jn.BUILDING_TAILS)
        name = self.one((head + tail, head + tail, head + town.town, town.town + tail))
        room = f"{self.num(1, 12 if tail == 'タワー' else 4)}{self.num(1, 8):02d}"
        return self.one((f"{name}{room}", f"{name}{room}", f"{name} {room}", f"{name}{room}号室"))

    def mobile(self) -> str:
        while True:
            n = str(self.num(10**8, 2 * 10**8 - 1))  # "1" and 8 random digits
            number = f"{self.one(('090', '090', '080', '070'))}-{n[1:5]}-{n[5:]}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def landline(self, town: Town) -> str:
        digits = 9 - len(town.area_code)  # 10 digits in all; the local number starts with 2-9
        local = f"{self.num(2, 9)}{self.num(0, 10**digits - 1):0{digits}d}"
        return f"{town.area_code}-{local[:-4]}-{local[-4:]}"

    def email(self, surname: Name, given: Name, dob: date) -> str:
        s, g = jn.spell(surname, "romaji", case="lower"), jn.spell(given, "romaji", case="lower")
        iso = dob.isoformat()
        local = self.one(jn.EMAIL_LOCAL_PARTS).format(
            s=s, g=g, g0=g[0], yy=iso[2:4], yyyy=iso[:4], mmdd=iso[5:7] + iso[8:],
            n=self.num(1, 99), nnn=self.num(1, 999), word=self.one(jn.EMAIL_WORDS))  # fmt: skip
        domain = _pick(self.rng, jn.EMAIL_DOMAINS, _DOMAIN_CUM)
        while f"{local}@{domain}" in self.emails:
            local += str(self.num(0, 9))
        self.emails.add(f"{local}@{domain}")
        return f"{local}@{domain}"

    # -- records --------------------------------------------------------------------------
    def names(self, p: _Person) -> tuple[str, str]:
        s, g = p.scripts
        return jn.spell(p.surname, s, p.style, p.case), jn.spell(p.given, g, p.style, p.case)

    def row(self, p: _Person) -> dict[str, str]:
        surname, given = self.names(p)
        t = p.town
        values = ("", surname, given, p.dob.isoformat(), p.phone, p.email, t.postcode,
                  t.prefecture, t.city, p.address_1, p.address_2)  # fmt: skip
        return dict(zip(COLUMNS, values, strict=True))

    def duplicate(self, p: _Person) -> tuple[dict[str, str], tuple[str, ...]]:
        rng, q = self.rng, _Person(*_FIELDS(p))
        wanted = _pick(rng, (1, 2, 3), (0.5, 0.85, 1.0))
        ops: set[str] = set()
        while len(ops) < wanted:
            ops.add(_pick(rng, _OPS, _OPS_CUM))
        done = [op for op in _OPS if op in ops and op in _STATE_OPS and getattr(self, op)(q)]
        row = self.row(q)
        done += [op for op in _OPS if op in ops and op not in _STATE_OPS and getattr(self, op)(row)]
        while len(done) < wanted:  # replace operations that could not apply
            op = _pick(rng, _OPS, _OPS_CUM)
            if op not in _STATE_OPS and op not in done and getattr(self, op)(row):
                done.append(op)
        return row, tuple(done)

    # -- noise on the person, before the record is written ----------------------------------
    def married_name(self, p: _Person) -> bool:
        old = p.surname
        while p.given.sex == "F" and p.surname.kana == old.kana:
            p.surname = _pick(self.rng, jn.SURNAMES, jn.SURNAME_CUM)
        return p.surname != old

    def name_script(self, p: _Person) -> bool:
        r, before = self.rng, self.names(p)
        while self.names(p) == before:
            script, which = _pick(r, jn.SCRIPTS, (0.15, 0.4, 0.5, 0.6, 0.92, 1.0)), r.random()
            p.scripts = (p.scripts[0] if which < 0.08 else script,
                         p.scripts[1] if 0.08 <= which < 0.16 else script)  # fmt: skip
            p.style = _pick(r, jn.ROMAJI_STYLES, (0.35, 0.5, 0.75, 0.87, 0.92, 1.0))
            p.case = _pick(r, ("title", "upper", "lower"), (0.55, 0.9, 1.0))
        return True

    def moved(self, p: _Person) -> bool:
        town = p.town
        while town.postcode == p.town.postcode:
            town = _pick(self.rng, jn.TOWNS, jn.TOWN_CUM)
        p.town, p.address_1 = town, self.address_1(town)
        p.address_2 = self.building(town) if self.rng.random() < 0.4 else ""
        return True

    def new_contact(self, p: _Person) -> bool:
        if p.phone and (not p.email or self.rng.random() < 0.5):
            p.phone = self.mobile()
        else:
            p.email = self.email(p.surname, p.given, p.dob)
        return True

    # -- noise on the written record ----------------------------------------------------------
    def name_order(self, row: dict[str, str]) -> bool:
        r, s, g = self.rng, row["surname"], row["given_name"]
        if r.random() < 0.55:
            row["surname"], row["given_name"] = g, s
            return True
        western = s.isascii() or "Ａ" <= s[0] <= "ｚ"
        sep = " " if western else self.one((" ", "\u3000", "\u3000", ""))
        full = f"{g}{sep}{s}" if western and r.random() < 0.5 else f"{s}{sep}{g}"
        row["surname"], row["given_name"] = "", ""
        row["given_name" if r.random() < 0.2 else "surname"] = full
        return True

    def missing(self, row: dict[str, str]) -> bool:
        blanked = 0
        for _ in range(20):
            group = _pick(self.rng, _MISSING, _MISSING_CUM)
            if any(row[k] for k in group):
                row.update(dict.fromkeys(group, ""))
                blanked += 1
                if blanked == 2 or self.rng.random() < 0.7:
                    break
        return blanked > 0

    def typo(self, row: dict[str, str]) -> bool:
        r = self.rng
        for _ in range(10):
            key = _pick(r, _TYPO_FIELDS, (25, 45, 65, 85, 95, 100))
            text = new = row[key]
            if not text:
                continue
            if key in ("surname", "given_name") and "\u4e00" <= text[0] <= "\u9fff":
                variants = tuple(text.replace(c, v, 1) for c, v in jn.ITAIJI.items() if c in text)
                variants += jn.HOMOPHONES.get(text, ())  # the wrong IME conversion
                new = self.one(variants) if variants else text
            elif key == "email":  # mostly in the local part, sometimes in the domain
                parts = text.split("@")
                side = int(r.random() < 0.2)
                parts[side] = jn.typo(r, parts[side])
                new = "@".join(parts)
            elif key == "phone":
                i = self.one([i for i, c in enumerate(text) if c.isdigit()][1:])
                new = text[:i] + self.one("0123456789".replace(text[i], "")) + text[i + 1 :]
            else:
                new = jn.typo(r, text)
            if new != text:
                row[key] = new
                return True
        return False

    def dob_typo(self, row: dict[str, str]) -> bool:
        d, r = _iso(row["date_of_birth"]), self.rng
        if d is None:
            return False
        kind = r.random()
        try:
            if kind < 0.4 and d.day <= 12 and d.day != d.month:
                new = date(d.year, d.day, d.month)
            elif kind < 0.7:
                new = d.replace(year=d.year + self.one((-1, 1, -10, 10)))
            else:
                new = d + timedelta(days=self.one((-1, 1, 10, -10)))
        except ValueError:  # 29 February
            new = d + timedelta(days=1)
        row["date_of_birth"] = new.isoformat()
        return True

    def dob_format(self, row: dict[str, str]) -> bool:
        d = _iso(row["date_of_birth"])
        if d is None:
            return False
        row["date_of_birth"] = jn.write_date(d, _pick(self.rng, _DATE_FORMATS, _DATE_CUM))
        return True

    def phone_format(self, row: dict[str, str]) -> bool:
        parts = row["phone"].split("-")
        if len(parts) != 3 or not all(x.isdigit() for x in parts):
            return False
        row["phone"] = jn.write_phone(parts, _pick(self.rng, _PHONE_FORMATS, _PHONE_CUM))
        return True

    def address_format(self, row: dict[str, str]) -> bool:
        options = jn.address_variants(*(row[k] for k in _ADDRESS_FIELDS))
        if options:
            row.update(self.one(options))
        return bool(options)


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def generate(people: int, *, duplicate_share: float = 0.3, seed: int = 7) -> LabelledRecords:
    """`people` people, one record each, plus 1–3 noisy duplicates for `duplicate_share` of them."""
    collecting = gc.isenabled()
    gc.disable()  # a fifth faster: nothing here makes reference cycles
    try:
        gen = _Generator(seed)
        while len(gen.people) < people:
            gen.household(people - len(gen.people))
        rows: list[tuple[dict[str, str], int, tuple[str, ...]]] = [
            (gen.row(p), i, ()) for i, p in enumerate(gen.people)
        ]
        for i in gen.rng.sample(range(people), round(duplicate_share * people)):
            for _ in range(_pick(gen.rng, (1, 2, 3), (0.75, 0.95, 1.0))):
                row, ops = gen.duplicate(gen.people[i])
                rows.append((row, i, ops))
        gen.rng.shuffle(rows)
        width = max(7, len(str(len(rows))))
        for n, (row, _, _) in enumerate(rows, start=1):
            row["customer_id"] = f"C{n:0{width}d}"
        return LabelledRecords(
            [row for row, _, _ in rows],
            {row["customer_id"]: person for row, person, _ in rows},
            {row["customer_id"]: ops for row, _, ops in rows if ops},
        )
    finally:
        if collecting:
            gc.enable()


def write_csv(path: Path, records: list[dict[str, str]], columns: Sequence[str] = COLUMNS) -> None:
    """UTF-8 CSV with a header; keys outside `columns` are left out, absent ones written empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(records)


def split_for_linking(
    data: LabelledRecords, seed: int = 7
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """LEFT and RIGHT record lists for a link job (copies); see the module docstring."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    by_person: dict[int, list[str]] = {}
    for row in data.records:
        by_person.setdefault(data.person_of[row["customer_id"]], []).append(row["customer_id"])
    side: dict[str, int] = {}
    for ids in by_person.values():
        rng.shuffle(ids)
        sides = [0, 1] if len(ids) > 1 else []
        sides += [rng.randrange(2) for _ in ids[len(sides) :]]
        side.update(zip(ids, sides, strict=True))
    left = [dict(r) for r in data.records if side[r["customer_id"]] == 0]
    right = [dict(r) for r in data.records if side[r["customer_id"]] == 1]
    return left, right
