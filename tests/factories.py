"""Typed factories for test data, through the real services."""

from __future__ import annotations

from kizuna.auth.service import create_api_key, create_console_user
from kizuna.db import Database
from kizuna.models import Source
from kizuna.sources.service import create_source


def make_source(db: Database, name: str = "web-shop", kind: str = "web") -> Source:
    with db.write() as session:
        source = create_source(session, name=name, kind=kind)
        session.commit()
        return source


def make_api_key(db: Database, role: str = "admin") -> str:
    with db.write() as session:
        issued = create_api_key(session, name=f"test-{role}", role=role)
        session.commit()
        return issued.secret


def make_console_user(
    db: Database,
    email: str = "admin@example.com",
    role: str = "admin",
    password: str = "correct horse battery staple",
    locale: str = "en",
) -> str:
    with db.write() as session:
        create_console_user(session, email=email, password=password, role=role, locale=locale)
        session.commit()
    return password
