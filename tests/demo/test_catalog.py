from __future__ import annotations

import re

from kizuna.demo.catalog import (
    LOCATIONS,
    PRODUCTS,
    STORES,
    generate_people,
    luhn_valid,
)

EMAIL = re.compile(r"^[a-z]+[._]?[a-z]+\d{1,3}@example\.(jp|com)$")
JP_MOBILE = re.compile(r"^\+81[789]0\d{8}$")


def test_the_same_seed_gives_the_same_people() -> None:
    assert generate_people(200, seed=7) == generate_people(200, seed=7)


def test_another_seed_gives_other_people() -> None:
    first = [p.email for p in generate_people(50, seed=7)]
    other = [p.email for p in generate_people(50, seed=8)]

    assert first != other


def test_emails_are_well_formed_unique_and_on_reserved_domains() -> None:
    emails = [p.email for p in generate_people(3000)]

    assert [e for e in emails if not EMAIL.match(e)] == []
    assert len(set(emails)) == 3000


def test_phones_are_unique_japanese_mobiles_in_e164() -> None:
    people = generate_people(3000)

    assert [p.phone for p in people if not JP_MOBILE.match(p.phone)] == []
    assert len({p.phone for p in people}) == 3000


def test_a_phone_is_displayed_the_japanese_way() -> None:
    person = generate_people(1)[0]
    digits = person.phone[3:]

    assert person.phone_display == f"+81 {digits[:2]}-{digits[2:6]}-{digits[6:]}"


def test_loyalty_cards_are_unique_sixteen_digits_with_a_check_digit() -> None:
    cards = [p.loyalty_card for p in generate_people(3000)]

    assert len(set(cards)) == 3000
    assert [c for c in cards if len(c) != 16 or not luhn_valid(c)] == []


def test_every_person_has_unique_ids_a_home_store_and_a_language() -> None:
    people = generate_people(500)
    store_codes = {s.code for s in STORES}

    assert len({p.user_id for p in people}) == 500
    assert len({p.web_anonymous_id for p in people}) == 500
    assert {p.home_store for p in people} <= store_codes
    assert {p.language for p in people} == {"ja", "en"}
    assert {p.locale for p in people} == {"ja-JP", "en-US"}


def test_the_catalogue_has_sixty_products_in_yen_and_six_stores_and_two_warehouses() -> None:
    assert len({p.sku for p in PRODUCTS}) == len(PRODUCTS) == 60
    assert all(100 <= p.price_jpy <= 50_000 for p in PRODUCTS)
    assert [loc.kind for loc in LOCATIONS].count("store") == 6
    assert [loc.kind for loc in LOCATIONS].count("warehouse") == 2
    assert len({loc.prefecture for loc in STORES}) == 6
