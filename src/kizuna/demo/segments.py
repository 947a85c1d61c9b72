"""Kizuna Mart's computed traits and segments: what a retailer defines on its first day."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.models import ComputedTraitRow, SegmentDefinitionRow
from kizuna.segments import service
from kizuna.segments.definitions import ComputedTraitDefinition, SegmentDefinition

ORDER = {"event": "Order Completed"}

COMPUTED_TRAITS: tuple[dict[str, Any], ...] = (
    {"key": "lifetime_value", "name": "Lifetime value (JPY)", "aggregation": "sum",
     "property": "total", "filter": ORDER},
    {"key": "orders_90d", "name": "Orders, last 90 days", "aggregation": "count",
     "filter": ORDER, "window": {"days": 90}},
    {"key": "preferred_channel", "name": "Preferred channel", "aggregation": "most_frequent",
     "property": "$channel", "filter": ORDER},
    {"key": "favourite_category", "name": "Favourite category", "aggregation": "most_frequent",
     "property": "category", "filter": {"event": "Product Viewed"}},
    {"key": "last_store_visited", "name": "Last store visited", "aggregation": "last",
     "property": "store_code", "filter": {"event": "Store Visited"}},
    {"key": "days_since_last_purchase", "name": "Days since last purchase",
     "aggregation": "days_since_last", "filter": ORDER},
)  # fmt: skip

SEGMENTS: tuple[dict[str, Any], ...] = (
    {"name": "店舗で購入・オンライン未購入（30日） / Store buyers, never online (30 days)",
     "condition": {"kind": "and", "conditions": [
         {"kind": "performed", "filter": {"event": "Order Completed", "channel": "store"},
          "within": {"days": 30}},
         {"kind": "not", "condition": {"kind": "or", "conditions": [
             {"kind": "performed", "filter": {"event": "Order Completed", "channel": "web"}},
             {"kind": "performed", "filter": {"event": "Order Completed", "channel": "app"}}]}}]}},
    {"name": "アプリでカート放棄（1時間） / Cart abandoned on the app (1 hour)",
     "condition": {"kind": "sequence", "first": {"event": "Cart Updated", "channel": "app"},
                   "then_not": {"event": "Order Completed"}, "within": {"hours": 1},
                   "first_within": {"days": 1}}},
    {"name": "VIP（累計5万円以上） / VIP (lifetime value 50,000 JPY or more)",
     "condition": {"kind": "computed_trait", "key": "lifetime_value", "op": "gte",
                   "value": 50000}},
    {"name": "休眠顧客（60日購入なし） / Lapsed (no purchase in 60 days)",
     "condition": {"kind": "computed_trait", "key": "days_since_last_purchase", "op": "gte",
                   "value": 60}},
    {"name": "メール配信可 / Reachable by email",
     "condition": {"kind": "and", "conditions": [
         {"kind": "identifier", "type": "email"},
         {"kind": "consent", "purpose": "marketing", "channel": "email"}]}},
)  # fmt: skip


def seed_segments(session: Session) -> int:
    """Define what is not defined yet (by trait key and segment name); returns how many."""
    made = 0
    have_traits = set(session.scalars(select(ComputedTraitRow.key)))
    for document in COMPUTED_TRAITS:
        if document["key"] not in have_traits:
            definition = ComputedTraitDefinition.model_validate(document)
            service.create_computed_trait(session, definition)
            made += 1
    have_segments = set(session.scalars(select(SegmentDefinitionRow.name)))
    for document in SEGMENTS:
        if document["name"] not in have_segments:
            service.create_segment(session, SegmentDefinition.model_validate(document))
            made += 1
    return made
