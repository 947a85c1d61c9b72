"""Identifiers as advertising platforms take them: normalised, then SHA-256 (hex, lower case).

Customer-match uploads (Google Ads, Meta, LINE, Yahoo! JAPAN) never receive a raw email or
phone. Each platform hashes the same normalisation: email trimmed and lower-cased (Gmail's
dots and ``+tags`` are left alone: the platforms do not strip them either); phone in E.164
*with* its ``+`` for Google and LINE, digits only for Meta. ``identity.identifiers.normalise``
already gives both forms, so a hash here matches the platform's hash of the same person.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import normalise

Platform = Literal["google", "meta", "line", "yahoo_japan"]
_PHONE_WITH_PLUS = {"google": True, "meta": False, "line": True, "yahoo_japan": True}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def match_key(id_type: str, value: str, platform: Platform, rules: IdentityRules) -> str | None:
    """The hash a platform expects for an email or phone (None when the value is unusable)."""
    if id_type not in ("email", "phone"):
        raise ValueError("only email and phone are matched by advertising platforms")
    identifier, _ = normalise(id_type, value, rules)
    if identifier is None:
        return None
    text = identifier.value
    if id_type == "phone" and not _PHONE_WITH_PLUS[platform]:
        text = text.lstrip("+")
    return sha256_hex(text)
