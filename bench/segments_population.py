"""Definitions and people for ``bench/segments.py``: six computed traits, fifty segments, a shop's
customers as Segment messages, the load that keeps flipping their memberships, and a
1,000,000-profile population written straight into the database for the recompute figure.

Pure data and bulk inserts; nothing here talks HTTP or measures time.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

CATEGORIES = ("shoes", "bags", "outerwear", "tops", "kitchen", "beauty")
TIERS = ("bronze", "silver", "gold")
PREFECTURES = ("東京都", "大阪府", "神奈川県", "愛知県", "福岡県", "北海道")
STORES = ("shibuya", "umeda", "sakae", "tenjin")
DAY_MS = 86_400_000

# --- definitions -----------------------------------------------------------------------------

COMPUTED_TRAITS: list[dict[str, Any]] = [
    {"key": "lifetime_value", "name": "Lifetime value", "aggregation": "sum",
     "property": "total", "filter": {"event": "Order Completed"}},
    {"key": "orders_90d", "name": "Orders, last 90 days", "aggregation": "count",
     "filter": {"event": "Order Completed"}, "window": {"days": 90}},
    {"key": "preferred_channel", "name": "Preferred channel", "aggregation": "most_frequent",
     "property": "$channel", "filter": {"event": "Order Completed"}},
    {"key": "favourite_category", "name": "Favourite category", "aggregation": "most_frequent",
     "property": "category", "filter": {"event": "Product Viewed"}},
    {"key": "days_since_last_purchase", "name": "Days since last purchase",
     "aggregation": "days_since_last", "filter": {"event": "Order Completed"}},
    {"key": "average_order_value", "name": "Average order value", "aggregation": "average",
     "property": "total", "filter": {"event": "Order Completed"}},
]  # fmt: skip

ORDER = {"event": "Order Completed"}
STORE_ORDER = {"event": "Order Completed", "channel": "store"}
WEB_ORDER = {"event": "Order Completed", "channel": "web"}
VIEW = {"event": "Product Viewed"}
CART = {"event": "Cart Updated"}


def _performed(
    f: dict[str, Any], op: str = "gte", n: int = 1, days: int | None = None, **window: int
) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "performed", "filter": f, "count": {"op": op, "value": n}}
    if days is not None:
        window["days"] = days
    if window:
        node["within"] = window
    return node


def _ct(key: str, op: str, value: Any) -> dict[str, Any]:
    return {"kind": "computed_trait", "key": key, "op": op, "value": value}


def _seg(segment_id: str, member: bool = True) -> dict[str, Any]:
    return {"kind": "segment", "segment": segment_id, "member": member}


def segment_documents(created: dict[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, POST /segments body) for the fifty segments, in creation order; ``created`` maps
    labels already created to their ids (segments of segments come last)."""

    def doc(name: str, condition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return name, {"name": name, "description": "bench/segments.py", "condition": condition}

    for k in range(1, 6):
        yield doc(f"Orders >= {k} in 30 days", _performed(ORDER, "gte", k, 30))
    for k in range(1, 4):
        yield doc(f"Store orders >= {k} in 30 days", _performed(STORE_ORDER, "gte", k, 30))
    for k in range(1, 4):
        yield doc(f"Web orders >= {k}, ever", _performed(WEB_ORDER, "gte", k))
    yield doc("At most one order in 30 days", _performed(ORDER, "lte", 1, 30))
    yield doc("No order in 14 days", _performed(ORDER, "eq", 0, 14))
    for k in (1, 3, 5, 8):
        yield doc(f"Viewed >= {k} in 7 days", _performed(VIEW, "gte", k, 7))
    for category in CATEGORIES[:4]:
        viewed = {**VIEW, "where": [{"path": "category", "op": "eq", "value": category}]}
        yield doc(f"Viewed {category} in 30 days", _performed(viewed, "gte", 1, 30))
    yield doc("Cart updated today", _performed(CART, "gte", 1, 1))
    big = {**ORDER, "where": [{"path": "total", "op": "gte", "value": 20000}]}
    yield doc("Big order in 30 days", _performed(big, "gte", 1, 30))
    yield doc(
        "Cart then order within 1 hour",
        {"kind": "sequence", "first": CART, "then": ORDER, "within": {"hours": 1}},
    )
    yield doc(
        "Abandoned cart",
        {"kind": "sequence", "first": CART, "then_not": ORDER, "within": {"hours": 1},
         "first_within": {"days": 1}},
    )  # fmt: skip
    yield doc(
        "Viewed then carted within 30 minutes",
        {"kind": "sequence", "first": VIEW, "then": CART, "within": {"minutes": 30}},
    )
    yield doc(
        "Viewed, no order within a day",
        {"kind": "sequence", "first": VIEW, "then_not": ORDER, "within": {"days": 1},
         "first_within": {"days": 7}},
    )  # fmt: skip
    for amount in (5000, 10000, 20000, 40000, 80000):
        yield doc(f"LTV >= {amount}", _ct("lifetime_value", "gte", amount))
    for k in (2, 4, 6):
        yield doc(f"Orders in 90 days >= {k}", _ct("orders_90d", "gte", k))
    for channel in ("store", "web"):
        yield doc(f"Prefers {channel}", _ct("preferred_channel", "eq", channel))
    yield doc("Bought in the last week", _ct("days_since_last_purchase", "lte", 7))
    yield doc("No purchase for 30 days", _ct("days_since_last_purchase", "gt", 30))
    yield doc("Average order >= 10000", _ct("average_order_value", "gte", 10000))
    yield doc("Favours shoes", _ct("favourite_category", "eq", "shoes"))
    yield doc("Gold tier", {"kind": "trait", "path": "tier", "op": "eq", "value": "gold"})
    yield doc(
        "Tokyo or Osaka",
        {"kind": "trait", "path": "prefecture", "op": "in", "value": ["東京都", "大阪府"]},
    )
    yield doc("Has a phone", {"kind": "identifier", "type": "phone"})
    yield doc(
        "Email marketing allowed", {"kind": "consent", "purpose": "marketing", "channel": "email"}
    )
    yield doc(
        "Silver or gold store regulars",
        {"kind": "and", "conditions": [
            {"kind": "trait", "path": "tier", "op": "in", "value": ["silver", "gold"]},
            _performed(STORE_ORDER, "gte", 2, 30)]},
    )  # fmt: skip
    yield doc(
        "High value or web regular",
        {"kind": "or", "conditions": [
            _ct("lifetime_value", "gte", 50000), _performed(WEB_ORDER, "gte", 3)]},
    )  # fmt: skip
    yield doc(
        "Lapsed with an email",
        {"kind": "and", "conditions": [
            {"kind": "not", "condition": _performed(ORDER, "gte", 1, 60)},
            {"kind": "identifier", "type": "email"}]},
    )  # fmt: skip
    yield doc(
        "VIP browsing",
        {"kind": "and", "conditions": [
            _seg(created["LTV >= 40000"]), _seg(created["Viewed >= 1 in 7 days"])]},
    )  # fmt: skip
    yield doc(
        "Abandoned, no recent order",
        {"kind": "and", "conditions": [
            _seg(created["Abandoned cart"]), _seg(created["Orders >= 1 in 30 days"], False)]},
    )  # fmt: skip


# --- customers as Segment messages -----------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _order(rng: random.Random, user: str, at: datetime | None, store: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "order_id": uuid.UUID(int=rng.getrandbits(128)).hex[:16],
        "total": rng.randrange(800, 30_000, 10),
        "category": rng.choice(CATEGORIES),
    }
    if store:
        properties["store"] = rng.choice(STORES)
    event = {"type": "track", "event": "Order Completed", "userId": user, "properties": properties}
    if at is not None:
        event["timestamp"] = _iso(at)
    return event


def _track(name: str, user: str, at: datetime | None, **properties: Any) -> dict[str, Any]:
    event = {"type": "track", "event": name, "userId": user, "properties": properties}
    if at is not None:
        event["timestamp"] = _iso(at)
    return event


def _identify(rng: random.Random, n: int, tier: str | None = None) -> dict[str, Any]:
    traits: dict[str, Any] = {
        "email": f"c{n}@example.jp",
        "tier": tier or rng.choice(TIERS),
        "prefecture": rng.choice(PREFECTURES),
    }
    if n % 10 < 7:
        traits["phone"] = f"+8190{n:08d}"
    event: dict[str, Any] = {"type": "identify", "userId": f"c{n}", "traits": traits}
    if n % 5 < 2:  # two in five allow marketing (Segment's consent context)
        event["context"] = {"consent": {"categoryPreferences": {"marketing": True}}}
    return event


def population(customers: int, seed: int, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Warm-up messages by source ("crm", "store", "web"): each customer is identified, then has
    0–5 orders over the last 60 days, a few product views and perhaps a cart."""
    rng = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {"crm": [], "store": [], "web": []}
    for n in range(customers):
        user = f"c{n}"
        out["crm"].append(_identify(rng, n))
        for _ in range(rng.choices(range(6), weights=(20, 25, 20, 15, 12, 8))[0]):
            at = now - timedelta(milliseconds=rng.randrange(60 * DAY_MS))
            store = rng.random() < 0.5
            out["store" if store else "web"].append(_order(rng, user, at, store))
        for _ in range(rng.randrange(0, 4)):
            at = now - timedelta(milliseconds=rng.randrange(10 * DAY_MS))
            out["web"].append(_track("Product Viewed", user, at, category=rng.choice(CATEGORIES)))
        if rng.random() < 0.3:
            at = now - timedelta(milliseconds=rng.randrange(3 * DAY_MS))
            out["web"].append(_track("Cart Updated", user, at, items=rng.randrange(1, 5)))
    return out


# Each batch of the load comes from one source (a POS uploads orders, the web SDK sends views).
LOAD_SOURCES = ("web", "store", "app", "crm")
LOAD_WEIGHTS = (50, 25, 15, 10)


def load_batch(rng: random.Random, customers: int, size: int) -> tuple[str, list[dict[str, Any]]]:
    """One batch of live events for existing customers, no timestamps (they happen now): about
    31 % orders, 32 % product views, 18 % cart updates, 10 % identifies changing the tier."""
    source = rng.choices(LOAD_SOURCES, weights=LOAD_WEIGHTS)[0]
    events = []
    for _ in range(size):
        n = rng.randrange(customers)
        user = f"c{n}"
        if source == "store":
            events.append(_order(rng, user, None, True))
        elif source == "crm":
            events.append(_identify(rng, n, rng.choice(TIERS)))
        else:
            r = rng.random()
            if r < (0.6 if source == "web" else 0.5):
                events.append(_track("Product Viewed", user, None, category=rng.choice(CATEGORIES)))
            elif r < (0.85 if source == "web" else 0.9):
                events.append(_track("Cart Updated", user, None, items=rng.randrange(1, 5)))
            elif r < (0.95 if source == "web" else 1.0):
                events.append(_order(rng, user, None, False))
            else:
                events.append(_track("Checkout Started", user, None))
    return source, events


# --- a million profiles straight into the database ---------------------------------------------


def sqlite_time(value: datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME stores for a naive UTC value."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class BulkWriter:
    """Raw driver bulk inserts: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")  # setup only, not measured
        else:
            import psycopg

            libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(libpq)

    def time(self, value: datetime) -> Any:
        return sqlite_time(value) if self.sqlite else value.astimezone(UTC).replace(tzinfo=None)

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        quoted = ", ".join(f'"{c}"' for c in columns)
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.conn.execute("BEGIN")
            self.conn.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
            self.conn.execute("COMMIT")
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.conn.commit()

    def analyse(self) -> None:
        if self.sqlite:
            self.conn.execute("ANALYZE")
        else:
            self.conn.execute("ANALYZE")
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def profile_id(n: int) -> str:
    # the shape of kizuna.kit.ids.new_id (prefix + 20 hex digits), in a scattered order
    return f"prof_{(n * 2_654_435_761) % (1 << 64):020x}"[:25]


def build_million(
    url: str,
    profiles: int,
    features: dict[str, str],
    now_ms: int,
    seed: int,
    report: Callable[[str], None],
) -> dict[str, int]:
    """``profiles`` live profiles, each with an email node, 0–6 store orders over the last 90
    days as occurrences of ``features["store_orders"]`` (and of ``features["orders_total"]``
    with the order's total), and a ``lifetime_value`` computed value. Returns row counts."""
    rng = random.Random(seed)
    w = BulkWriter(url)
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    stamp = w.time(now)
    counts = {"profiles": 0, "identity_nodes": 0, "segment_occurrences": 0, "computed": 0}
    seq = 0
    chunk = 50_000
    try:
        for start in range(0, profiles, chunk):
            people, nodes, occurrences, computed = [], [], [], []
            for n in range(start, min(start + chunk, profiles)):
                pid = profile_id(n)
                people.append((pid, n + 1, stamp, stamp, None, 0, 1, 1))
                nodes.append(("email", f"p{n}@example.jp", pid, stamp, stamp, 1))
                total = 0.0
                for _ in range(rng.choices(range(7), weights=(22, 24, 20, 14, 10, 6, 4))[0]):
                    seq += 1
                    at = now_ms - rng.randrange(90 * DAY_MS)
                    amount = float(rng.randrange(800, 30_000, 10))
                    total += amount
                    occurrences.append((features["store_orders"], seq, pid, at, None, None, None))
                    occurrences.append(
                        (features["orders_total"], seq, pid, at, amount, None, repr(amount))
                    )
                if total:
                    computed.append(("lifetime_value", pid, total, None, repr(total), stamp))
            w.insert(
                "profiles",
                ("id", "anchor_node_id", "created_at", "updated_at", "merged_into", "merges",
                 "identifiers", "rules_version"),
                people,
            )  # fmt: skip
            w.insert(
                "identity_nodes",
                ("type", "value", "profile_id", "first_seen_at", "last_seen_at", "events"),
                nodes,
            )
            w.insert(
                "segment_occurrences",
                ("feature", "seq", "profile_id", "at_ms", "number", "text", "value"),
                occurrences,
            )
            w.insert(
                "computed_trait_values",
                ("key", "profile_id", "number", "text", "value", "updated_at"),
                computed,
            )
            counts["profiles"] += len(people)
            counts["identity_nodes"] += len(nodes)
            counts["segment_occurrences"] += len(occurrences)
            counts["computed"] += len(computed)
            if (start // chunk) % 4 == 3:
                report(f"    {counts['profiles']:,} profiles written")
        w.analyse()
    finally:
        w.close()
    return counts
