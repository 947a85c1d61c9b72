"""The Japanese and English catalogs say the same things, and every key the console uses exists."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from kizuna.auth.rules import ROLES
from kizuna.console.i18n import LOCALES, LOCALES_DIR, choose_locale, translate
from kizuna.console.views_pipeline import RESULTS
from kizuna.console.views_sources import NOTICES
from kizuna.ingestion.plans import PLAN_MODES
from kizuna.ingestion.rules import SOURCE_KINDS

CONSOLE = LOCALES_DIR.parent
# t('a.b') or t("a.b", x=1); not prefixes such as t('channel.' ~ kind), checked by name below.
LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z0-9_.]+)['"]\s*[,)]""")


def _load(locale: str) -> dict[str, str]:
    return json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_japanese_and_english_catalogs_have_identical_keys() -> None:
    ja, en = _load("ja"), _load("en")

    assert sorted(set(ja) ^ set(en)) == []


def test_each_translation_has_the_same_placeholders_in_both_languages() -> None:
    ja, en = _load("ja"), _load("en")

    differing = [key for key in en if _placeholders(en[key]) != _placeholders(ja[key])]

    assert differing == []


def test_every_literal_key_in_templates_and_views_is_in_the_catalog() -> None:
    sources = [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("*.py")]
    used = {key for path in sources for key in LITERAL_KEY.findall(path.read_text())}

    assert used, "the pattern found no keys at all"
    assert sorted(used - set(_load("en"))) == []


@pytest.mark.parametrize(
    ("prefix", "names"),
    [
        ("channel", SOURCE_KINDS),
        ("role", ROLES),
        ("mode", PLAN_MODES),
        ("mode", tuple(f"{m}.help" for m in PLAN_MODES)),
        ("notice", NOTICES),
        ("pipeline.result", RESULTS),
        ("error", ("heading_403", "heading_404")),
        ("nav", ("overview", "sources", "events", "quarantine", "pipeline")),
        ("outcome", ("accepted", "warned", "duplicate", "quarantined", "rejected", "rate_limited")),
        ("status", ("ok", "warned", "active", "revoked")),
    ],
)
def test_every_name_built_from_a_prefix_has_a_translation(
    prefix: str, names: tuple[str, ...]
) -> None:
    catalog = _load("ja")

    assert [n for n in names if f"{prefix}.{n}" not in catalog] == []


def test_a_translation_fills_its_placeholders() -> None:
    assert translate("en", "quarantine.held_count", count=3) == "3 held"
    assert translate("ja", "quarantine.held_count", count=3) == "3 件を保留中"


def test_a_missing_key_shows_itself() -> None:
    assert translate("en", "no.such.key") == "no.such.key"


@pytest.mark.parametrize(
    ("cookie", "user", "header", "expected"),
    [
        ("en", "ja", "ja-JP", "en"),
        (None, "en", "ja-JP,ja;q=0.9", "en"),
        ("fr", None, "en-GB,en;q=0.8", "en"),
        (None, None, "fr-FR, en;q=0.5, ja;q=0.9", "ja"),
        (None, None, "en;q=0, fr", "ja"),
        (None, None, None, "ja"),
    ],
)
def test_the_language_is_the_choice_then_the_profile_then_the_browser_then_the_default(
    cookie: str | None, user: str | None, header: str | None, expected: str
) -> None:
    assert choose_locale(cookie, user, header, default="ja") == expected


def test_both_locales_have_a_catalog_file() -> None:
    assert sorted(p.stem for p in Path(LOCALES_DIR).glob("*.json")) == sorted(LOCALES)
