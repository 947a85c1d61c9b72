"""Who may see a source's write key: pure rules, no I/O (SEC-5).

A client source's key (web, app, ...) ships inside web pages and apps: it is public by design
and only names the source. A key of a trusted kind (``IdentityRules.trusted_source_kinds``:
server, import, store, call_center by default) makes its events trusted identity evidence, so
it is a secret: only those who manage sources (``sources:write``) see it. Everyone else sees
its prefix, enough to tell keys apart and useless for sending events.
"""

from __future__ import annotations

from collections.abc import Collection

KEY_PREFIX_LENGTH = 7  # "wk_" and four characters, like an API key's stored prefix
MANAGE_SCOPE = "sources:write"


def write_key_visible(kind: str, *, trusted_kinds: Collection[str], may_manage: bool) -> bool:
    return may_manage or kind not in trusted_kinds


def write_key_prefix(write_key: str) -> str:
    return write_key[:KEY_PREFIX_LENGTH]
