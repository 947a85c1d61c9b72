"""Seed Kizuna Mart through the services; every step is idempotent.

These functions flush but never commit: the caller (``kizuna demo``, a test) owns the transaction.
"""

from __future__ import annotations

import secrets

import structlog
from sqlalchemy.orm import Session

from kizuna.auth.service import create_console_user
from kizuna.catalog.service import upsert_locations, upsert_products
from kizuna.demo.catalog import LOCATIONS, PRODUCTS
from kizuna.demo.segments import seed_segments
from kizuna.errors import Conflict
from kizuna.models import Location, Product
from kizuna.sources.service import create_source, find_by_name, rotate_write_key

log = structlog.get_logger(__name__)

# One source per touchpoint, named as the retailer would name them.
DEMO_SOURCES: tuple[tuple[str, str], ...] = (
    ("Kizuna Mart Web", "web"),
    ("Kizuna Mart App", "app"),
    ("Store POS", "store"),
    ("Call Centre", "call_center"),
    ("Email", "email"),
    ("LINE", "line"),
    ("CRM Import", "import"),
)

DEMO_USER_EMAIL = "demo@kizuna.example"


def seed_catalog(session: Session) -> None:
    """Every product and location of Kizuna Mart (merged by key, so a re-run changes nothing)."""
    upsert_products(
        session,
        (
            Product(
                sku=p.sku,
                name_ja=p.name_ja,
                name_en=p.name_en,
                category=p.category,
                price_jpy=p.price_jpy,
            )
            for p in PRODUCTS
        ),
    )
    upsert_locations(
        session,
        (
            Location(
                code=loc.code,
                kind=loc.kind,
                name_ja=loc.name_ja,
                name_en=loc.name_en,
                prefecture=loc.prefecture,
            )
            for loc in LOCATIONS
        ),
    )


def seed_sources(session: Session) -> dict[str, str]:
    """The demo's sources, created when missing; returns ``{kind: write_key}``.

    A demo source whose key was revoked gets a fresh key: the simulator needs every channel.
    """
    write_keys: dict[str, str] = {}
    for name, kind in DEMO_SOURCES:
        source = find_by_name(session, name)
        if source is None:
            source = create_source(session, name=name, kind=kind)
        elif source.revoked_at is not None:
            log.warning("demo_source_key_rotated", source=source.id, name=name)
            source = rotate_write_key(session, source.id)
            session.flush()
        if source.kind != kind:
            log.warning("demo_source_kind_differs", name=name, kind=source.kind, expected=kind)
        write_keys[kind] = source.write_key
    return write_keys


def seed_retailer(session: Session) -> dict[str, str]:
    """Catalogue, sources, computed traits and segments of Kizuna Mart; returns the sources'
    ``{kind: write_key}``."""
    seed_catalog(session)
    write_keys = seed_sources(session)
    seed_segments(session)
    return write_keys


def ensure_demo_user(session: Session) -> str | None:
    """Create the demo console admin with a random password and return that password once.

    Returns None when the user exists already: its password was shown when it was created and
    is stored only as a hash.
    """
    password = secrets.token_urlsafe(15)
    try:
        create_console_user(
            session, email=DEMO_USER_EMAIL, password=password, role="admin", locale="ja"
        )
    except Conflict:
        return None
    return password
