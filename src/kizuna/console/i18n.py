"""Console translations: one JSON catalog per language, and how a visitor's language is chosen."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = ("ja", "en")
LOCALES_DIR = Path(__file__).parent / "locales"


@cache
def catalog(locale: str) -> dict[str, str]:
    with (LOCALES_DIR / f"{locale}.json").open(encoding="utf-8") as f:
        loaded: dict[str, str] = json.load(f)
    return loaded


def translate(locale: str, key: str, **params: object) -> str:
    """The text for ``key`` (the key itself when missing, so a gap is visible, not a crash)."""
    text = catalog(locale).get(key, key)
    return text.format(**params) if params else text


def has_key(locale: str, key: str) -> bool:
    return key in catalog(locale)


def choose_locale(
    cookie: str | None, user_locale: str | None, accept_language: str | None, default: str
) -> str:
    """The visitor's explicit choice, else their profile, else their browser, else the default."""
    for candidate in (cookie, user_locale):
        if candidate in LOCALES:
            return candidate
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-", 1)[0].lower()
        if primary in LOCALES:
            return primary
    return default if default in LOCALES else LOCALES[0]


def _accepted(header: str) -> list[str]:
    """Accept-Language tags, most preferred first (q=0 means "not this one")."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]
