"""Property: a comparison means the same in Python (real time) and in SQL (recompute, preview).

Random trait values (numbers, Japanese and ASCII text, ISO times, booleans, lists) are stored
for random profiles, then random conditions are answered both by ``values.compare`` on each
profile's cell and by the compiler over the table, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from kizuna.db import Database
from kizuna.models import Profile, SegmentTraitValue
from kizuna.segments.compiler import Universe, members
from kizuna.segments.definitions import TraitNode
from kizuna.segments.values import cell_of, compare

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)

texts = st.sampled_from(
    ["Tokyo", "tokyo", "東京都", "大阪", "gold", "Gold", "", "2026-11-20", "2026-11-20T10:00:00Z",
     "2025-01-01T00:00:00.000Z", "shoes", "sho", "a%b", "a_b", "[1]", "ß"]
)  # fmt: skip
scalars = st.one_of(texts, st.integers(-3, 3), st.sampled_from([0.5, 2.0, 1e6]), st.booleans())
values = st.one_of(scalars, st.lists(st.one_of(texts, st.integers(0, 2)), max_size=3))
ops_with_value = st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"])


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["one", "list", "none", "text", "days"]))
    if kind == "one":
        return {"op": draw(ops_with_value), "value": draw(scalars)}
    if kind == "list":
        op = draw(st.sampled_from(["in", "not_in"]))
        return {"op": op, "value": draw(st.lists(scalars, max_size=3))}
    if kind == "none":
        return {"op": draw(st.sampled_from(["exists", "not_exists"]))}
    if kind == "text":
        op = draw(st.sampled_from(["contains", "starts_with"]))
        return {"op": op, "value": draw(st.one_of(texts, st.sampled_from(["1", "2", "ok"])))}
    op = draw(st.sampled_from(["within_last_days", "before_days_ago"]))
    return {"op": op, "value": draw(st.sampled_from([0, 3, 400, 3650]))}


def _no_consent(*_: Any) -> set[str]:
    return set()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stored=st.lists(st.one_of(st.none(), values), min_size=1, max_size=8),
    condition=conditions(),
    data=st.data(),
)
def test_python_and_sql_agree(
    db: Database, stored: list[Any], condition: dict[str, Any], data: st.DataObject
) -> None:
    reused = [v for v in stored if v is not None and not isinstance(v, list)]
    if (
        reused
        and condition["op"] in ("eq", "neq", "gt", "gte", "lt", "lte")
        and data.draw(st.booleans())
    ):  # compare with a value that is stored: the boundary cases
        condition = {**condition, "value": data.draw(st.sampled_from(reused))}
    node = TraitNode.model_validate({"kind": "trait", "path": "x", **condition})
    cells = {f"p{i}": cell_of(v) for i, v in enumerate(stored)}
    with db.write() as session:
        session.execute(delete(SegmentTraitValue))
        session.execute(delete(Profile))
        session.execute(
            insert(Profile),
            [{"id": p, "anchor_node_id": i, "created_at": NOW, "updated_at": NOW,
              "merges": 0, "identifiers": 0, "rules_version": 1}
             for i, p in enumerate(cells)],
        )  # fmt: skip
        rows = [
            {"profile_id": p, "path": "x", "number": c.number, "text": c.text, "value": c.value}
            for p, c in cells.items()
            if c is not None
        ]
        if rows:
            session.execute(insert(SegmentTraitValue), rows)
        session.commit()
    expected = {p for p, c in cells.items() if compare(c, node, NOW_MS)}
    with db.read() as session:
        found = members(node, Universe(session, NOW_MS, _no_consent))
    assert found == expected
