"""Segment messages as Kizuna Mart's touchpoints send them, and the CRM's member records.

No I/O here: the simulator sends what these build.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kizuna import __version__
from kizuna.demo.catalog import DemoProduct, Person

LIBRARY = {"name": "kizuna-demo", "version": __version__}
WEB_ORIGIN = "https://www.kizuna-mart.example"
BRAND = {"ja": "絆マート", "en": "Kizuna Mart"}


@dataclass(frozen=True, slots=True)
class Step:
    """One message, and the kind of source that sends it."""

    kind: str
    message: dict[str, Any]


@dataclass
class Touch:
    """One person on one channel: the identifiers that source knows, the context it sends."""

    kind: str
    person: Person
    user_id: str | None = None
    anonymous_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def _step(self, type_: str, context: dict[str, Any] | None, **fields: Any) -> Step:
        message: dict[str, Any] = {"type": type_, "messageId": str(uuid.uuid4())}
        if self.user_id:
            message["userId"] = self.user_id
        if self.anonymous_id:
            message["anonymousId"] = self.anonymous_id
        message["context"] = {
            "library": LIBRARY,
            "locale": self.person.locale,
            "timezone": "Asia/Tokyo",
            **self.context,
            **(context or {}),
        }
        message.update(fields)
        return Step(self.kind, message)

    def track(
        self, event: str, properties: dict[str, Any], context: dict[str, Any] | None = None
    ) -> Step:
        return self._step("track", context, event=event, properties=properties)

    def page(self, name: str, properties: dict[str, Any], context: dict[str, Any]) -> Step:
        return self._step("page", context, name=name, properties=properties)

    def screen(self, name: str, properties: dict[str, Any]) -> Step:
        return self._step("screen", None, name=name, properties=properties)

    def identify(self, traits: dict[str, Any]) -> Step:
        return self._step("identify", None, traits=traits)


def crm_identify(person: Person) -> dict[str, Any]:
    """The CRM's record of a member, as one identify (sent through the import source)."""
    touch = Touch("import", person, user_id=person.user_id)
    return touch.identify(
        {
            "name": person.full_name,
            "lastName": person.family_name,
            "firstName": person.given_name,
            "name_romaji": f"{person.given_romaji.title()} {person.family_romaji.title()}",
            "email": person.email,
            "phone": person.phone,
            "loyalty_card": person.loyalty_card,
            "preferred_language": person.language,
            "home_store": person.home_store,
            "birth_year": person.birth_year,
            "createdAt": person.member_since.isoformat(),
            "email_opt_in": person.email_opt_in,
            "app_installed": person.app_device_id is not None,
            "line_linked": person.line_user_id is not None,
        }
    ).message


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def product_properties(product: DemoProduct, language: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "product_id": product.sku,
        "sku": product.sku,
        "name": product.name(language),
        "category": product.category,
        "brand": BRAND[language],
        "price": product.price_jpy,
        "currency": "JPY",
        "quantity": quantity,
    }


def order_totals(items: Sequence[tuple[DemoProduct, int]], shipping: int) -> dict[str, int]:
    """Japanese prices include consumption tax: 8% on food, 10% on everything else."""
    subtotal = sum(p.price_jpy * q for p, q in items)
    tax = sum(p.price_jpy * q * (8 if p.category == "food" else 10) // 110 for p, q in items)
    return {"total": subtotal + shipping, "revenue": subtotal - tax, "tax": tax}
