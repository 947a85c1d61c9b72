"""Portable SQL helpers for the two supported dialects (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")


def table_of(model: type[DeclarativeBase]) -> Table:
    return cast(Table, model.__table__)


def dialect_insert(conn: Connection, model: type[DeclarativeBase]) -> Any:
    table = table_of(model)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert_add(
    conn: Connection,
    model: type[DeclarativeBase],
    keys: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    counter: str = "count",
) -> None:
    """Insert rows, or add their ``counter`` to the existing row with the same keys."""
    if not rows:
        return
    table = table_of(model)
    stmt = dialect_insert(conn, model)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={counter: table.c[counter] + stmt.excluded[counter]},
    )
    conn.execute(stmt, list(rows))


def insert_ignore(conn: Connection, model: type[DeclarativeBase], keys: Sequence[str]) -> Insert:
    stmt: Any = dialect_insert(conn, model)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[no-any-return]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
