"""Use-cases on the catalogue."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.models import Location, Product


def list_products(session: Session, category: str | None = None, limit: int = 200) -> list[Product]:
    stmt = select(Product).order_by(Product.sku).limit(limit)
    if category:
        stmt = stmt.where(Product.category == category)
    return list(session.scalars(stmt))


def list_locations(session: Session) -> list[Location]:
    return list(session.scalars(select(Location).order_by(Location.code)))


def upsert_products(session: Session, products: Iterable[Product]) -> int:
    count = 0
    for product in products:
        session.merge(product)
        count += 1
    session.flush()
    return count


def upsert_locations(session: Session, locations: Iterable[Location]) -> int:
    count = 0
    for location in locations:
        session.merge(location)
        count += 1
    session.flush()
    return count
