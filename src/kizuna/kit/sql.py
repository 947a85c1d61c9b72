"""Portable SQL helpers for the two supported dialects (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import Table, and_, any_, bindparam, false, func, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import Insert

from kizuna.kit.clock import as_utc

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
    replace: Sequence[str] = (),
) -> None:
    """Insert rows, or add their ``counter`` to the existing row with the same keys (and take
    the new values of the ``replace`` columns)."""
    if not rows:
        return
    table = table_of(model)
    stmt = dialect_insert(conn, model)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            counter: table.c[counter] + stmt.excluded[counter],
            **{column: stmt.excluded[column] for column in replace},
        },
    )
    conn.execute(stmt, list(rows))


def insert_ignore(conn: Connection, model: type[DeclarativeBase], keys: Sequence[str]) -> Insert:
    stmt: Any = dialect_insert(conn, model)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[no-any-return]


def pairs_in(first: Any, second: Any, pairs: Iterable[tuple[Any, Any]]) -> Any:
    """``(first, second) IN pairs``, written so that SQLite searches an index on the two
    columns: one ``first = ? AND second IN (...)`` per distinct first value, joined by OR.
    (SQLite scans the whole table for a row-value IN list of more than one row.)"""
    grouped: dict[Any, list[Any]] = {}
    for a, b in pairs:
        grouped.setdefault(a, []).append(b)
    if not grouped:
        return false()
    return or_(*(and_(first == a, second.in_(bs)) for a, bs in grouped.items()))


def among(dialect: str, column: Any, values: Iterable[Any]) -> Any:
    """``column IN values`` as one bound parameter: PostgreSQL ``= ANY(array)``, SQLite
    ``IN (SELECT value FROM json_each(?))``. The statement's text does not depend on how many
    values there are, so SQLAlchemy compiles it once and caches it (an expanding ``IN`` list
    is rendered again on every execution, one bound name per value: most of the cost of the
    consumers' small reads). Values are strings or integers."""
    listed = list(values)
    if dialect == "postgresql":
        return column == any_(bindparam(None, listed, type_=postgresql.ARRAY(column.type)))
    if dialect == "sqlite":
        found: Any = select(literal_column("value")).select_from(
            func.json_each(orjson.dumps(listed).decode())
        )
        return column.in_(found.scalar_subquery())
    return column.in_(listed)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def utc_param(dialect_name: str) -> Callable[[datetime], Any]:
    """How a ``UtcDateTime`` value is handed to the driver directly (see ``BulkInsert``).

    Exactly what SQLAlchemy would bind: on SQLite its DATETIME text ``YYYY-MM-DD
    HH:MM:SS.ffffff`` (compared as text in SQL, so the form matters), on PostgreSQL a naive UTC
    datetime.
    """
    if dialect_name == "sqlite":
        return _sqlite_time
    return _naive_utc


def _naive_utc(value: datetime) -> datetime:
    return as_utc(value).replace(tzinfo=None)


def _sqlite_time(value: datetime) -> str:
    return as_utc(value).isoformat(" ", "microseconds")[:26]  # without "+00:00"


class BulkInsert:
    """Multi-row ``INSERT ... VALUES (...), (...)`` through the driver, for the ingestion hot path.

    On PostgreSQL the rows go in as one array per column (``unnest``): a fixed statement text,
    where psycopg would otherwise re-parse a statement with thousands of placeholders each time.
    Measured costs made this necessary (``docs/benchmarks.md``): SQLAlchemy's per-row parameter
    processing cost more than the insert; a driver ``executemany`` releases and re-takes the GIL
    for every row, so while the event loop is busy each row waits for a thread switch (a
    1,000-row ``executemany`` fell from 58,000 to 200 rows/s beside one busy thread); and every
    statement is such a wait, so rows go in as few statements as the driver's parameter limit
    allows. Rows are plain tuples in ``columns`` order, datetimes converted by ``utc_param``.
    The consumers' hot paths (the segments engine) write through it for the same reasons.
    Everywhere else, use SQLAlchemy.

    ``conflict`` names the unique key a row may collide with: the row is then skipped, or, for
    the columns of ``update``, the stored row takes the new values (``"earliest"``: the smaller
    of the two). Rows of one call must not repeat a key.
    """

    MAX_ROWS = 2000

    def __init__(
        self,
        model: type[DeclarativeBase],
        columns: Sequence[str],
        *,
        conflict: Sequence[str] = (),
        update: Mapping[str, str] | Sequence[str] = (),
    ) -> None:
        self.table = table_of(model)
        self.columns = tuple(columns)
        self.conflict = tuple(conflict)
        self.update = dict(update) if isinstance(update, Mapping) else dict.fromkeys(update, "new")
        named = set(self.columns) | set(self.conflict) | set(self.update)
        missing = named - set(self.table.c.keys())
        if missing:
            raise ValueError(f"{self.table.name} has no column(s) {sorted(missing)}")
        if self.update and not self.conflict:
            raise ValueError("update needs the conflict key")
        if set(self.update.values()) - {"new", "earliest"}:
            raise ValueError("update takes 'new' or 'earliest'")

    def _on_conflict(self, dialect: Dialect) -> str:
        if not self.conflict:
            return ""
        quote = dialect.identifier_preparer.quote
        target = f" ON CONFLICT ({', '.join(quote(c) for c in self.conflict)}) DO "
        if not self.update:
            return target + "NOTHING"
        table = quote(self.table.name)
        sets = []
        for column, rule in self.update.items():
            new, old = f"excluded.{quote(column)}", f"{table}.{quote(column)}"
            value = new if rule == "new" else f"CASE WHEN {new} < {old} THEN {new} ELSE {old} END"
            sets.append(f"{quote(column)} = {value}")
        return target + "UPDATE SET " + ", ".join(sets)

    def sql(self, dialect: Dialect, rows: int) -> str:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        one = f"({', '.join([mark] * len(self.columns))})"
        return (
            f"INSERT INTO {quote(self.table.name)} "
            f"({', '.join(quote(c) for c in self.columns)}) VALUES {', '.join([one] * rows)}"
            + self._on_conflict(dialect)
        )

    def chunk(self, dialect: Dialect) -> int:
        """Rows per statement within the driver's bound-parameter limit."""
        return max(1, min(self.MAX_ROWS, parameter_limit(dialect) // len(self.columns)))

    def unnest_sql(self, dialect: Dialect) -> str:
        """PostgreSQL: one array per column, so the text (and psycopg's parse of it) is fixed."""
        quote = dialect.identifier_preparer.quote
        arrays = ", ".join(
            f"%b::{self.table.c[c].type.compile(dialect=dialect)}[]" for c in self.columns
        )
        names = ", ".join(f"c{i}" for i in range(len(self.columns)))
        return (
            f"INSERT INTO {quote(self.table.name)} "
            f"({', '.join(quote(c) for c in self.columns)}) "
            f"SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS r({names}, n) ORDER BY n"
            + self._on_conflict(dialect)
        )

    def run(
        self, conn: Connection, rows: Sequence[tuple[Any, ...]], returning: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """Insert ``rows`` in their order (so an autoincrement key follows it); with
        ``returning``, give back those columns of the inserted rows, as the driver reads them
        and in no promised order (return a key to match them by)."""
        if not rows:
            return []
        back = ""
        if returning:
            quote = conn.dialect.identifier_preparer.quote
            back = " RETURNING " + ", ".join(quote(c) for c in returning)
        found: list[tuple[Any, ...]] = []
        if conn.dialect.name == "postgresql":
            columns = tuple(list(values) for values in zip(*rows, strict=True))
            result = conn.exec_driver_sql(self.unnest_sql(conn.dialect) + back, columns)
            return [tuple(r) for r in result] if returning else found
        size = self.chunk(conn.dialect)
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            params = tuple(value for row in part for value in row)
            result = conn.exec_driver_sql(self.sql(conn.dialect, len(part)) + back, params)
            if returning:
                found += [tuple(r) for r in result]
        return found


class BulkUpdate:
    """``UPDATE ... FROM`` a list of rows in one statement, through the driver: the counterpart
    of ``BulkInsert`` for the consumers' per-row updates (a driver ``executemany`` of thousands
    of rows waits for the GIL at every row while another consumer thread is busy).

    Rows are tuples of ``key`` then ``columns``; each column takes its row's value by its rule:
    ``new`` (replace), ``earliest`` / ``latest`` (the smaller / larger of stored and new) or
    ``add`` (stored plus new). Rows of one call must not repeat a key.
    """

    RULES = ("new", "earliest", "latest", "add")

    def __init__(self, model: type[DeclarativeBase], key: str, columns: Mapping[str, str]) -> None:
        self.table = table_of(model)
        self.key = key
        self.columns = dict(columns)
        missing = ({key} | set(self.columns)) - set(self.table.c.keys())
        if missing:
            raise ValueError(f"{self.table.name} has no column(s) {sorted(missing)}")
        if set(self.columns.values()) - set(self.RULES):
            raise ValueError(f"rules are {', '.join(self.RULES)}")

    def _set(self, dialect: Dialect) -> str:
        quote = dialect.identifier_preparer.quote
        table = quote(self.table.name)
        sets = []
        for n, (column, rule) in enumerate(self.columns.items(), start=2):
            new, old = f"v.column{n}", f"{table}.{quote(column)}"
            value = {
                "new": new,
                "earliest": f"CASE WHEN {new} < {old} THEN {new} ELSE {old} END",
                "latest": f"CASE WHEN {new} > {old} THEN {new} ELSE {old} END",
                "add": f"{old} + {new}",
            }[rule]
            sets.append(f"{quote(column)} = {value}")
        return f"UPDATE {table} SET {', '.join(sets)} FROM "

    def _where(self, dialect: Dialect) -> str:
        quote = dialect.identifier_preparer.quote
        return f" WHERE {quote(self.table.name)}.{quote(self.key)} = v.column1"

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        dialect = conn.dialect
        if dialect.name == "postgresql":
            names = [self.key, *self.columns]
            arrays = ", ".join(
                f"%b::{self.table.c[c].type.compile(dialect=dialect)}[]" for c in names
            )
            aliases = ", ".join(f"column{n}" for n in range(1, len(names) + 1))
            sql = f"{self._set(dialect)}unnest({arrays}) AS v({aliases}){self._where(dialect)}"
            conn.exec_driver_sql(sql, tuple(list(v) for v in zip(*rows, strict=True)))
            return
        width = 1 + len(self.columns)
        size = max(1, min(BulkInsert.MAX_ROWS, parameter_limit(dialect) // width))
        one = f"({', '.join(['?'] * width)})"
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            values = f"(VALUES {', '.join([one] * len(part))}) AS v"
            sql = f"{self._set(dialect)}{values}{self._where(dialect)}"
            conn.exec_driver_sql(sql, tuple(value for row in part for value in row))


def parameter_limit(dialect: Dialect) -> int:
    if dialect.name == "sqlite":
        return 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    return 65_535
