"""Cross-channel stories of Kizuna Mart's customers, as Segment messages per source.

A story is what one person does across touchpoints: browse the web shop anonymously and log in
to buy, open a campaign email and click through, scan a loyalty card at a store's till, call
the call centre, chat on LINE. Each step names the source kind that sends it, so the same person
reaches Kizuna through several sources under several identifiers (anonymousId, userId, email,
phone, loyalty card, LINE user id), as in real life. No I/O here.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from kizuna.demo.catalog import CATEGORY_NAMES, PRODUCTS, STORES, DemoLocation, DemoProduct, Person
from kizuna.demo.messages import (
    BRAND,
    WEB_ORIGIN,
    Step,
    Touch,
    new_id,
    order_totals,
    product_properties,
)

_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 15; SO-51E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
)
_REFERRERS = ("https://www.google.example/", "https://search.yahoo.example/", "", "")
_CAMPAIGNS = (
    ("cmp-2026-winter-sale", "冬のセール", "Winter Sale", "kitchen"),
    ("cmp-new-life", "新生活応援フェア", "New-Life Fair", "home"),
    ("cmp-double-points", "ポイント2倍デー", "Double Points Day", "apparel"),
    ("cmp-matcha-fair", "抹茶フェア", "Matcha Fair", "food"),
    ("cmp-skin-care", "敏感肌スキンケア特集", "Sensitive-Skin Care", "beauty"),
)
_CALL_REASONS = ("delivery_status", "return_request", "product_question", "membership", "store")
_LINE_QUESTIONS = {
    "ja": (
        "注文した商品はいつ届きますか？",
        "{store}の営業時間を教えてください",
        "ポイントの有効期限を知りたいです",
        "{product}の在庫はありますか？",
    ),
    "en": (
        "When will my order arrive?",
        "What are the opening hours of {store}?",
        "When do my points expire?",
        "Is {product} in stock?",
    ),
}
_PAYMENTS = {
    "web": ("credit_card", "credit_card", "paypay", "konbini", "amazon_pay"),
    "app": ("credit_card", "paypay", "apple_pay", "google_pay"),
    "store": ("cash", "credit_card", "transit_ic", "paypay", "rakuten_pay"),
}


class StoryTeller:
    """Draws stories for a population; the first round plays every kind of story once."""

    def __init__(self, people: Sequence[Person], rng: random.Random) -> None:
        if not people:
            raise ValueError("the demo needs at least one person")
        self.people = people
        self.rng = rng
        self.stores = {store.code: store for store in STORES}
        self._stories: dict[str, tuple[int, Callable[[Person], list[Step]], Callable[..., bool]]]
        self._stories = {
            "web_purchase": (15, self.web_purchase, lambda p: True),
            "web_browse": (15, self.web_browse, lambda p: True),
            "app_purchase": (15, self.app_purchase, lambda p: p.app_device_id is not None),
            "email_to_web": (14, self.email_to_web, lambda p: p.email_opt_in),
            "store_purchase": (18, self.store_purchase, lambda p: True),
            "click_and_collect": (7, self.click_and_collect, lambda p: True),
            "call_centre": (8, self.call_centre, lambda p: True),
            "line_chat": (10, self.line_chat, lambda p: p.line_user_id is not None),
        }
        self._first_round = list(self._stories)

    @property
    def story_kinds(self) -> list[str]:
        return list(self._stories)

    def next_story(self) -> list[Step]:
        if self._first_round:
            name = self._first_round.pop(0)
        else:
            names = list(self._stories)
            name = self.rng.choices(names, weights=[self._stories[n][0] for n in names])[0]
        _, tell, fits = self._stories[name]
        for _ in range(50):
            person = self.rng.choice(self.people)
            if fits(person):
                return tell(person)
        return self.web_browse(self.rng.choice(self.people))

    # --- touchpoints ---------------------------------------------------------------------

    def _web(self, person: Person, anonymous_id: str | None = None) -> Touch:
        octet = self.rng.randint(1, 254)
        network = self.rng.choice(("192.0.2", "198.51.100", "203.0.113"))
        return Touch(
            "web",
            person,
            anonymous_id=anonymous_id or person.web_anonymous_id,
            context={"userAgent": self.rng.choice(_USER_AGENTS), "ip": f"{network}.{octet}"},
        )

    def _app(self, person: Person) -> Touch:
        ios = person.app_platform == "ios"
        return Touch(
            "app",
            person,
            user_id=person.user_id,
            anonymous_id=person.app_device_id,
            context={
                "app": {"name": "Kizuna Mart", "version": "4.2.0", "build": "4200"},
                "device": {
                    "id": person.app_device_id,
                    "type": person.app_platform,
                    "manufacturer": "Apple" if ios else "Sony",
                    "model": "iPhone16,2" if ios else "XQ-EC44",
                },
                "os": {"name": "iOS" if ios else "Android", "version": "18.1" if ios else "15"},
            },
        )

    def _pos(self, person: Person, store: DemoLocation) -> Touch:
        card = person.loyalty_card
        return Touch(
            "store",
            person,
            anonymous_id=new_id(f"pos-{store.code.lower()}"),
            context={
                "externalIds": [
                    {"id": card, "type": "loyalty_card", "collection": "users", "encoding": "none"}
                ],
                "traits": {"loyalty_card": card},
                "location": {"country": "JP", "region": store.prefecture},
            },
        )

    def _page(
        self, web: Touch, name: str, path: str, title: str, props: dict[str, Any] | None = None
    ) -> Step:
        language = web.person.language
        page = {
            "path": path,
            "url": WEB_ORIGIN + path,
            "title": f"{title} | {BRAND[language]}",
            "referrer": self.rng.choice(_REFERRERS),
        }
        return web.page(name, {**page, **(props or {})}, {"page": page})

    def _browse(self, web: Touch, products: Sequence[DemoProduct]) -> list[Step]:
        language = web.person.language
        steps = []
        for product in products:
            path = f"/products/{product.sku}"
            steps.append(
                self._page(
                    web,
                    "Product",
                    path,
                    product.name(language),
                    product_properties(product, language),
                )
            )
            steps.append(
                web.track("Product Viewed", {**product_properties(product, language), "url": path})
            )
        return steps

    def _basket(self, size: int | None = None) -> list[tuple[DemoProduct, int]]:
        size = size or self.rng.choice((1, 1, 2, 2, 3, 4))
        return [(p, self.rng.choice((1, 1, 1, 2))) for p in self.rng.sample(PRODUCTS, size)]

    def _order(
        self, person: Person, items: Sequence[tuple[DemoProduct, int]], channel: str, **extra: Any
    ) -> dict[str, Any]:
        subtotal = sum(p.price_jpy * q for p, q in items)
        delivered = channel != "store" and extra.get("shipping_method") != "store_pickup"
        shipping = 550 if delivered and subtotal < 5000 else 0
        return {
            "order_id": new_id({"web": "W", "app": "A", "store": "S"}[channel]),
            **order_totals(items, shipping),
            "shipping": shipping,
            "currency": "JPY",
            "channel": channel,
            "payment_method": self.rng.choice(_PAYMENTS[channel]),
            "products": [product_properties(p, person.language, q) for p, q in items],
            **extra,
        }

    # --- stories -------------------------------------------------------------------------

    def web_browse(self, person: Person) -> list[Step]:
        """Anonymous browsing that ends without logging in; some are strangers, not members."""
        stranger = self.rng.random() < 0.3
        web = self._web(person, anonymous_id=str(uuid.uuid4()) if stranger else None)
        category = self.rng.choice(sorted({p.category for p in PRODUCTS}))
        in_category = [p for p in PRODUCTS if p.category == category]
        title = CATEGORY_NAMES[category][0 if person.language == "ja" else 1]
        steps = [
            self._page(web, "Home", "/", BRAND[person.language]),
            self._page(web, "Category", f"/c/{category}", title, {"category": category}),
            *self._browse(web, self.rng.sample(in_category, self.rng.randint(1, 3))),
        ]
        if self.rng.random() < 0.3:
            added = product_properties(self.rng.choice(in_category), person.language)
            steps.append(web.track("Product Added", added))
        return steps

    def web_purchase(self, person: Person) -> list[Step]:
        """Browse anonymously, log in (identify links the anonymousId), buy."""
        web = self._web(person)
        items = self._basket()
        steps = [self._page(web, "Home", "/", BRAND[person.language])]
        steps += self._browse(web, [p for p, _ in items])
        steps += [
            web.track("Product Added", product_properties(p, person.language, q)) for p, q in items
        ]
        web.user_id = person.user_id
        steps.append(web.identify({"email": person.email}))
        order = self._order(person, items, "web")
        checkout = {k: order[k] for k in ("order_id", "total", "currency", "products")}
        steps.append(web.track("Checkout Started", checkout))
        steps.append(web.track("Order Completed", order))
        return steps

    def app_purchase(self, person: Person) -> list[Step]:
        app = self._app(person)
        items = self._basket()
        language = person.language
        steps = [app.track("Application Opened", {"from_background": self.rng.random() < 0.5})]
        if self.rng.random() < 0.3:
            steps.append(app.identify({"email": person.email, "phone": person.phone}))
        steps.append(app.screen("Home", {}))
        for product, quantity in items:
            steps.append(app.screen("Product", product_properties(product, language)))
            steps.append(app.track("Product Viewed", product_properties(product, language)))
            steps.append(
                app.track("Product Added", product_properties(product, language, quantity))
            )
        cart = self._order(person, items, "app")
        steps.append(
            app.track(
                "Cart Updated",
                {"cart_id": new_id("C"), "total": cart["total"], "products": cart["products"]},
            )
        )
        if self.rng.random() < 0.7:
            steps.append(app.track("Order Completed", cart))
        return steps

    def email_to_web(self, person: Person) -> list[Step]:
        """A campaign email is opened, clicked, and the click lands on the web shop."""
        campaign_id, name_ja, name_en, category = self.rng.choice(_CAMPAIGNS)
        name = name_ja if person.language == "ja" else name_en
        email = Touch(
            "email", person, user_id=person.user_id, context={"traits": {"email": person.email}}
        )
        about = {
            "campaign_id": campaign_id,
            "campaign_name": name,
            "email_id": str(uuid.uuid4()),
            "email_subject": f"【{BRAND[person.language]}】{name}",
        }
        steps = [email.track("Email Opened", about)]
        if self.rng.random() < 0.35:
            return steps
        path = f"/c/{category}?utm_source=newsletter&utm_medium=email&utm_campaign={campaign_id}"
        steps.append(email.track("Email Link Clicked", {**about, "link_url": WEB_ORIGIN + path}))
        web = self._web(person)
        web.user_id = person.user_id  # the link carries a sign-in token
        web.context["campaign"] = {"name": campaign_id, "source": "newsletter", "medium": "email"}
        steps.append(self._page(web, "Category", path, name, {"category": category}))
        in_category = [p for p in PRODUCTS if p.category == category]
        product = self.rng.choice(in_category)
        steps += self._browse(web, [product])
        if self.rng.random() < 0.4:
            steps.append(web.track("Product Added", product_properties(product, person.language)))
            steps.append(web.track("Order Completed", self._order(person, [(product, 1)], "web")))
        return steps

    def store_purchase(self, person: Person) -> list[Step]:
        """A member scans their loyalty card at a store's till (usually their home store)."""
        store = self.stores[person.home_store]
        if self.rng.random() < 0.2:
            store = self.rng.choice(STORES)
        pos = self._pos(person, store)
        where = {"store_code": store.code, "store_name": store.name_ja}
        steps = [pos.track("Store Visited", {**where, "prefecture": store.prefecture})]
        if self.rng.random() < 0.9:
            order = self._order(person, self._basket(), "store", **where)
            order["register"] = f"POS-{self.rng.randint(1, 8):02d}"
            order["loyalty_points_earned"] = order["total"] // 100
            steps.append(pos.track("Order Completed", order))
        return steps

    def click_and_collect(self, person: Person) -> list[Step]:
        """Ordered online for pickup, collected at the store with the loyalty card."""
        store = self.stores[person.home_store]
        online = self._app(person) if person.app_device_id else self._web(person)
        online.user_id = person.user_id
        items = self._basket(1)
        product, quantity = items[0]
        steps = [
            online.track("Product Viewed", product_properties(product, person.language)),
            online.track("Product Added", product_properties(product, person.language, quantity)),
        ]
        order = self._order(
            person, items, online.kind, shipping_method="store_pickup", pickup_store=store.code
        )
        steps.append(online.track("Order Completed", order))
        pickup = {"order_id": order["order_id"], "store_code": store.code}
        steps.append(self._pos(person, store).track("Order Picked Up", pickup))
        return steps

    def call_centre(self, person: Person) -> list[Step]:
        """The phone number arrives first; the agent then confirms who is calling."""
        call = Touch(
            "call_center",
            person,
            anonymous_id=new_id("call"),
            context={"traits": {"phone": person.phone}},
        )
        reason = self.rng.choice(_CALL_REASONS)
        queue = "ja-general" if person.language == "ja" else "en-general"
        started = {"phone": person.phone, "direction": "inbound", "queue": queue, "reason": reason}
        steps = [call.track("Call Started", started)]
        call.user_id = person.user_id
        steps.append(call.identify({"phone": person.phone, "name": person.full_name}))
        ended = {
            "phone": person.phone,
            "reason": reason,
            "agent_id": f"agent-{self.rng.randint(1, 40):03d}",
            "duration_seconds": self.rng.randint(45, 1200),
            "resolution": self.rng.choice(("resolved", "resolved", "resolved", "escalated")),
        }
        steps.append(call.track("Call Ended", ended))
        return steps

    def line_chat(self, person: Person) -> list[Step]:
        """A question on the LINE official account; sometimes a coupon used later in store."""
        store = self.stores[person.home_store]
        line_id = person.line_user_id
        line = Touch(
            "line",
            person,
            user_id=person.user_id,
            context={
                "externalIds": [
                    {
                        "id": line_id,
                        "type": "line_user_id",
                        "collection": "users",
                        "encoding": "none",
                    }
                ]
            },
        )
        language = person.language
        question = self.rng.choice(_LINE_QUESTIONS[language]).format(
            store=store.name_ja if language == "ja" else store.name_en,
            product=self.rng.choice(PRODUCTS).name(language),
        )
        steps = [
            line.track(
                "Message Received",
                {"line_user_id": line_id, "message_type": "text", "text": question},
            ),
            line.track("Message Sent", {"line_user_id": line_id, "message_type": "text"}),
        ]
        if self.rng.random() < 0.35:
            coupon = {"line_user_id": line_id, "coupon_code": "LINE10", "discount_percent": 10}
            steps.append(line.track("Coupon Sent", coupon))
            where = {"store_code": store.code, "store_name": store.name_ja, "coupon": "LINE10"}
            order = self._order(person, self._basket(), "store", **where)
            order["discount"] = order["total"] // 10
            order["total"] -= order["discount"]
            steps.append(self._pos(person, store).track("Order Completed", order))
        return steps
