from __future__ import annotations

from typing import Any

from kizuna.auth.service import authenticate_user
from kizuna.catalog.service import list_locations, list_products
from kizuna.db import Database
from kizuna.demo.catalog import LOCATIONS, PRODUCTS
from kizuna.demo.seed import DEMO_SOURCES, DEMO_USER_EMAIL, ensure_demo_user, seed_retailer
from kizuna.sources.service import list_sources


def _seed(db: Database) -> dict[str, str]:
    with db.write() as session:
        keys = seed_retailer(session)
        session.commit()
    return keys


def _state(db: Database) -> dict[str, Any]:
    with db.read() as session:
        return {
            "products": [
                (p.sku, p.name_ja, p.price_jpy) for p in list_products(session, limit=1000)
            ],
            "locations": [(loc.code, loc.kind) for loc in list_locations(session)],
            "sources": sorted((s.name, s.kind, s.write_key) for s in list_sources(session)),
        }


def test_seeding_twice_changes_nothing(db: Database) -> None:
    _seed(db)
    first = _state(db)

    _seed(db)

    assert _state(db) == first
    assert (len(first["products"]), len(first["locations"]), len(first["sources"])) == (
        len(PRODUCTS),
        len(LOCATIONS),
        len(DEMO_SOURCES),
    )


def test_the_seed_returns_each_sources_write_key_by_kind(db: Database) -> None:
    keys = _seed(db)

    with db.read() as session:
        stored = {s.kind: s.write_key for s in list_sources(session)}
    assert keys == stored
    assert set(keys) == {"web", "app", "store", "call_center", "email", "line", "import"}


def test_the_demo_user_gets_a_working_password_once(db: Database) -> None:
    with db.write() as session:
        first = ensure_demo_user(session)
        session.commit()
    with db.write() as session:
        second = ensure_demo_user(session)
        user = authenticate_user(session, DEMO_USER_EMAIL, first or "")
        session.commit()

    assert first is not None and len(first) >= 16
    assert second is None
    assert user is not None and user.role == "admin"


def test_the_demo_defines_its_computed_traits_and_segments_once(db: Database) -> None:
    from sqlalchemy import func, select

    from kizuna.demo.segments import COMPUTED_TRAITS, SEGMENTS
    from kizuna.models import ComputedTraitRow, SegmentDefinitionRow

    for _ in range(2):
        with db.write() as session:
            seed_retailer(session)
            session.commit()
    with db.read() as session:
        traits = session.scalar(select(func.count()).select_from(ComputedTraitRow))
        segments = session.scalar(select(func.count()).select_from(SegmentDefinitionRow))
    assert (traits, segments) == (len(COMPUTED_TRAITS), len(SEGMENTS))
