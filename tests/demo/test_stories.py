from __future__ import annotations

import random

from kizuna.demo.catalog import PRODUCTS, generate_people
from kizuna.demo.messages import crm_identify, order_totals
from kizuna.demo.stories import StoryTeller
from kizuna.ingestion.schemas import BatchRequest

CHANNELS = {"web", "app", "store", "call_center", "email", "line"}


def test_every_story_follows_the_segment_spec() -> None:
    teller = StoryTeller(generate_people(100, seed=3), random.Random(3))
    messages = [step.message for _ in range(300) for step in teller.next_story()]

    BatchRequest.model_validate({"batch": messages})


def test_the_first_round_of_stories_reaches_every_channel() -> None:
    teller = StoryTeller(generate_people(100, seed=3), random.Random(3))

    kinds = {step.kind for _ in teller.story_kinds for step in teller.next_story()}

    assert kinds == CHANNELS


def test_every_message_names_the_demo_library_and_a_locale() -> None:
    teller = StoryTeller(generate_people(100, seed=3), random.Random(3))
    contexts = [step.message["context"] for _ in range(100) for step in teller.next_story()]

    assert {c["library"]["name"] for c in contexts} == {"kizuna-demo"}
    assert {c["locale"] for c in contexts} == {"ja-JP", "en-US"}


def test_a_crm_record_identifies_the_person_with_email_phone_and_card() -> None:
    person = generate_people(1)[0]

    message = crm_identify(person)

    assert (message["type"], message["userId"]) == ("identify", person.user_id)
    assert {k: message["traits"][k] for k in ("email", "phone", "loyalty_card")} == {
        "email": person.email,
        "phone": person.phone,
        "loyalty_card": person.loyalty_card,
    }


def test_order_totals_include_ten_percent_tax_and_eight_on_food() -> None:
    towel = next(p for p in PRODUCTS if p.sku == "KM-HOM-003")  # 3,300 yen
    matcha = next(p for p in PRODUCTS if p.sku == "KM-FOD-001")  # 1,680 yen

    totals = order_totals([(towel, 1), (matcha, 2)], shipping=550)

    assert totals == {"total": 3300 + 3360 + 550, "tax": 300 + 244, "revenue": 6660 - 544}
