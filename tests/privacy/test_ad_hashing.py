"""Hashes for advertising platforms match what the platforms compute from the same person."""

from __future__ import annotations

import hashlib

import pytest

from kizuna.identity.config import IdentityRules
from kizuna.privacy.ad_hashing import match_key

RULES = IdentityRules()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_emails_are_trimmed_and_lower_cased_before_hashing() -> None:
    assert match_key("email", "  Ann.Lee+shop@Example.COM ", "google", RULES) == sha(
        "ann.lee+shop@example.com"
    )


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("google", "+819012345678"), ("meta", "819012345678"), ("line", "+819012345678")],
)
def test_japanese_phones_in_every_local_form_hash_alike(platform: str, expected: str) -> None:
    for written in ("090-1234-5678", "０９０１２３４５６７８", "+81 90 1234 5678"):
        assert match_key("phone", written, platform, RULES) == sha(expected)  # type: ignore[arg-type]


def test_unusable_values_give_no_key() -> None:
    assert match_key("email", "not-an-email", "google", RULES) is None
    assert match_key("phone", "call me", "meta", RULES) is None
    with pytest.raises(ValueError, match="only email and phone"):
        match_key("user_id", "u-1", "google", RULES)
