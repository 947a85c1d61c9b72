"""Raw payloads for readers who may not read personal data (SEC-2): personal values masked.

No I/O. Readers without ``profiles:read`` (the read-only role) still see every event, its
name, properties, channel, timestamps, ``userId`` and ``anonymousId``; the values of personal
keys (``kizuna.privacy.classification``) become ``"[personal]"``:

- in ``traits``, ``context.traits`` and the top level of ``properties`` (a ``Signed Up`` track
  event often repeats the email there);
- ``context.ip`` (an IP address is personal data under the GDPR and the APPI);
- any sealed marker, whatever its key (a value sealed under an older classification);
- the message of a tracking-plan violation about a personal trait (JSON Schema messages quote
  the failing value).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import orjson

from kizuna.privacy.sealing import is_sealed, open_payload

REDACTED = "[personal]"
_CONTEXT_KEYS = ("ip",)


def payload_for(text: str, redact: Container[str] | None) -> dict[str, Any]:
    """A stored payload as its reader may see it: opened, or redacted (``redact`` is not None:
    the personal fields) without opening anything."""
    if redact is None:
        return open_payload(text)
    message = orjson.loads(text)
    return redact_message(message, redact) if isinstance(message, dict) else {}


def violations_for(text: str | None, redact: Container[str] | None) -> Any:
    """Stored tracking-plan violations as their reader may see them (None when there are none)."""
    if not text:
        return None
    violations = orjson.loads(text)
    return violations if redact is None else redact_violations(violations, redact)


def redact_message(message: dict[str, Any], personal: Container[str]) -> dict[str, Any]:
    """``message`` (changed in place) with personal values replaced by ``REDACTED``."""
    context = message.get("context")
    holders = [message.get("traits"), message.get("properties")]
    if isinstance(context, dict):
        holders.append(context.get("traits"))
        for key in _CONTEXT_KEYS:
            if context.get(key) is not None:
                context[key] = REDACTED
    for holder in holders:
        if isinstance(holder, dict):
            for key, value in holder.items():
                if value is not None and (key in personal or is_sealed(value)):
                    holder[key] = REDACTED
    return message


def redact_violations(violations: Any, personal: Container[str]) -> Any:
    """Violations with the message of those about a personal trait replaced by ``REDACTED``."""
    if not isinstance(violations, list):
        return violations
    out = []
    for violation in violations:
        if isinstance(violation, dict) and _personal_path(violation.get("path"), personal):
            violation = {**violation, "message": REDACTED}
        out.append(violation)
    return out


def _personal_path(path: object, personal: Container[str]) -> bool:
    if not isinstance(path, str):
        return False
    parts = path.split(".", 2)
    return len(parts) > 1 and parts[0] in ("traits", "properties") and parts[1] in personal
