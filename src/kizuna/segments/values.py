"""How a stored value is compared: one meaning for Python and for SQL. Pure.

Every value is stored as a *cell*: ``number`` (ints and floats, never booleans), ``text``
(strings) and ``value`` (the JSON text of anything, booleans and lists included). A comparison
reads one of them, chosen by the type of the condition's value, so the compiler
(``compiler.py``) and the evaluator (``evaluate.py``) apply the same rule to the same columns:

- ``eq``/``neq``/``gt``/``gte``/``lt``/``lte`` with a number compare ``number``; with a text,
  ``text`` (by code point); with a boolean, ``value``. ``neq`` and the orderings need a value:
  a profile without the trait matches neither ``eq`` nor ``neq`` (use ``not_exists``).
- ``in``/``not_in``: ``eq`` with any / none of the listed values (``not_in`` needs a value).
- ``contains``: the text contains the value, or the list holds it as an element.
- ``starts_with``: the text starts with the value.
- ``within_last_days``/``before_days_ago``: the text (an ISO 8601 time, UTC) is at or after /
  before the instant ``value`` days ago, compared as ISO text.
- ``exists``/``not_exists``: whether the profile has the value at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from kizuna.segments.definitions import Comparison

DAY_MS = 86_400_000


class Cell(NamedTuple):
    number: float | None
    text: str | None
    value: str  # JSON


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def cell_of(value: Any) -> Cell | None:
    """The cell of a JSON value (None for null: an absent value)."""
    if value is None:
        return None
    number = float(value) if _is_number(value) else None
    text = value if isinstance(value, str) else None
    return Cell(number, text, json_text(value))


def iso_days_ago(now_ms: int, days: int) -> str:
    instant = datetime.fromtimestamp(now_ms / 1000, UTC) - timedelta(days=days)
    return instant.strftime("%Y-%m-%dT%H:%M:%S")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def equals(cell: Cell, v: Any) -> bool:
    if isinstance(v, bool):
        return cell.value == ("true" if v else "false")
    if _is_number(v):
        return cell.number is not None and cell.number == float(v)
    return cell.text is not None and cell.text == v


def _ordered(cell: Cell, op: str, v: Any) -> bool:
    mine: Any
    if _is_number(v):
        mine, v = cell.number, float(v)
    elif isinstance(v, str):
        mine = cell.text
    else:
        return False
    if mine is None:
        return False
    if op == "gt":
        return bool(mine > v)
    if op == "gte":
        return bool(mine >= v)
    if op == "lt":
        return bool(mine < v)
    return bool(mine <= v)


def compare(cell: Cell | None, condition: Comparison, now_ms: int) -> bool:
    op, v = condition.op, condition.value
    if op == "exists":
        return cell is not None
    if op == "not_exists":
        return cell is None
    if cell is None:
        return False
    if op == "eq":
        return equals(cell, v)
    if op == "neq":
        return not equals(cell, v)
    if op in ("gt", "gte", "lt", "lte"):
        return _ordered(cell, op, v)
    if op == "in":
        return any(equals(cell, item) for item in v)  # type: ignore[union-attr]
    if op == "not_in":
        return not any(equals(cell, item) for item in v)  # type: ignore[union-attr]
    if op == "contains":
        in_text = cell.text is not None and str(v) in cell.text
        return in_text or (cell.value.startswith("[") and json_text(v) in cell.value)
    if op == "starts_with":
        return cell.text is not None and cell.text.startswith(str(v))
    bound = iso_days_ago(now_ms, int(v))  # type: ignore[arg-type]
    if cell.text is None:
        return False
    return cell.text >= bound if op == "within_last_days" else cell.text < bound


def time_dependent(condition: Comparison) -> bool:
    return condition.op in ("within_last_days", "before_days_ago")
