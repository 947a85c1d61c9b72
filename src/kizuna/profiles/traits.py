"""Trait survivorship: which observed value a profile shows, and where it came from. Pure.

- ``latest`` (default): the value of the latest event by event time;
- ``first``: set once, the earliest value is kept;
- ``source_priority``: the latest value from the most trusted source that sent one (sources
  listed in the rule, most trusted first; unlisted sources rank last);
- ``union``: every distinct value (lists are flattened);
- ``sum``: the latest value of each source, added up (a counter kept by several systems).

Every trait keeps its history: each distinct value with when and where it was first and last
seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from kizuna.identity.config import IdentityRules


@dataclass(frozen=True, slots=True)
class Observation:
    key: str
    value: Any
    source_id: str
    channel: str
    seq: int
    at: datetime


def _provenance(o: Observation) -> dict[str, Any]:
    return {"source_id": o.source_id, "channel": o.channel, "seq": o.seq, "at": o.at}


def _history(observations: list[Observation]) -> list[dict[str, Any]]:
    by_value: dict[bytes, dict[str, Any]] = {}
    for o in observations:
        token = orjson.dumps(o.value, option=orjson.OPT_SORT_KEYS)
        entry = by_value.get(token)
        if entry is None:
            by_value[token] = {"value": o.value, "first": _provenance(o), "last": _provenance(o)}
        else:
            entry["last"] = _provenance(o)
    return list(by_value.values())


def _chosen(rule: str, observed: list[Observation], sources: tuple[str, ...]) -> Any:
    if rule == "first":
        return observed[0].value, [observed[0]]
    if rule == "source_priority":
        rank = {s: i for i, s in enumerate(sources)}
        best = min(observed, key=lambda o: (rank.get(o.source_id, len(rank)), -o.at.timestamp()))
        return best.value, [best]
    if rule == "union":
        values: list[Any] = []
        for o in observed:
            for v in o.value if isinstance(o.value, list) else [o.value]:
                if v not in values:
                    values.append(v)
        return values, observed
    if rule == "sum":
        latest: dict[str, Observation] = {}
        for o in observed:
            if isinstance(o.value, int | float) and not isinstance(o.value, bool):
                latest[o.source_id] = o
        return sum(o.value for o in latest.values()), list(latest.values())
    return observed[-1].value, [observed[-1]]


def survive(observations: list[Observation], rules: IdentityRules) -> dict[str, dict[str, Any]]:
    """Observations in event-time order in, one value per trait with provenance out."""
    by_key: dict[str, list[Observation]] = {}
    for o in observations:
        by_key.setdefault(o.key, []).append(o)
    result: dict[str, dict[str, Any]] = {}
    for key, observed in sorted(by_key.items()):
        rule = rules.trait_rule(key)
        value, chosen_from = _chosen(rule.survivorship, observed, rule.sources)
        result[key] = {
            "value": value,
            "survivorship": rule.survivorship,
            "from": [_provenance(o) for o in chosen_from],
            "history": _history(observed),
        }
    return result
