"""Encryption at rest of personal trait values inside stored payloads (optional).

With ``KIZUNA_PRIVACY__ENCRYPTION_KEYS`` set (a JSON list of Fernet keys), ingestion replaces
the value of every personal key (``kizuna.privacy.classification``) of ``traits`` and
``context.traits`` by a marker ``"$sealed:v1:<Fernet token of orjson(value)>"`` before the
event is stored (log or quarantine). Keys stay in clear, so ``'"traits"'`` filters and the
shape of the payload do not change; any JSON value round-trips (the ``address`` object too).

``MultiFernet``: the first key seals, every key opens, ``kizuna privacy rotate-encryption``
re-seals with the first. Every reader of a payload goes through ``open_payload``; a marker no
configured key opens stays as it is (a misconfiguration shows as markers, never as a crash).

The keys a process opens with are installed once per process (``configure``: the
``Platform`` does it from its settings; CLI commands get them from the environment on first
use), because payloads are read in places that hold no settings (``LoggedEvent.message``).
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from kizuna.config import get_settings

SEALED_PREFIX = "$sealed:v1:"
_SEALED_TEXT = '"' + SEALED_PREFIX  # how a marker looks inside the payload's JSON text
_TRAITS_TEXT = '"traits"'


class Sealer:
    """Seals and opens values with a list of Fernet keys (the first one seals)."""

    def __init__(self, keys: Sequence[str | SecretStr]) -> None:
        if not keys:
            raise ValueError("sealing needs at least one key")
        fernets = []
        for index, key in enumerate(keys):
            secret = key.get_secret_value() if isinstance(key, SecretStr) else key
            try:
                fernets.append(Fernet(secret.strip().encode()))
            except ValueError as exc:
                raise ValueError(
                    f"encryption key {index + 1} is not a Fernet key (32 url-safe base64 bytes; "
                    "docs/privacy.md says how to generate one)"
                ) from exc
        self.key_count = len(fernets)
        self._fernet = MultiFernet(fernets)

    def seal(self, value: Any) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(orjson.dumps(value)).decode()

    def open(self, marker: str) -> Any:
        """The sealed value, or the marker itself when no configured key opens it."""
        try:
            return orjson.loads(self._fernet.decrypt(marker[len(SEALED_PREFIX) :].encode()))
        except (InvalidToken, orjson.JSONDecodeError):
            return marker

    def rotate(self, marker: str) -> str:
        """The same value sealed with the first key; raises ``InvalidToken`` if none opens it."""
        token = self._fernet.rotate(marker[len(SEALED_PREFIX) :].encode())
        return SEALED_PREFIX + token.decode()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def trait_holders(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objects whose keys are trait keys: ``traits`` and ``context.traits``."""
    holders = []
    for parent in (message, message.get("context")):
        if isinstance(parent, dict) and isinstance(parent.get("traits"), dict):
            holders.append(parent["traits"])
    return holders


# --- writing ----------------------------------------------------------------------------------


def seal_payload(
    text: str,
    personal: Container[str],
    sealer: Sealer,
    *,
    fresh: bool = True,
    memo: dict[bytes, str] | None = None,
) -> tuple[str, set[str]]:
    """The payload with its personal trait values sealed, and the ``traits`` keys sealed.

    ``fresh``: the payload comes from a client, so a string that merely looks like a marker is
    sealed too, whatever its key (it reads back as the text sent, never as a value opened from
    a token copied out of another event). Otherwise (data already stored) markers are left
    alone. ``memo`` shares tokens between equal values of one request: SDKs repeat the same
    ``context.traits`` on every event of a batch, and each seal costs tens of microseconds.
    Nulls are left alone; a payload with nothing to seal comes back as the same string.
    """
    if _TRAITS_TEXT not in text:
        return text, set()
    message = orjson.loads(text)
    if not isinstance(message, dict):
        return text, set()
    sealed_in_traits: set[str] = set()
    changed = False
    for holder in trait_holders(message):
        for key, value in holder.items():
            if value is None or not (fresh if is_sealed(value) else key in personal):
                continue
            holder[key] = _sealed(value, sealer, memo)
            changed = True
            if holder is message.get("traits"):
                sealed_in_traits.add(key)
    return (orjson.dumps(message).decode() if changed else text), sealed_in_traits


def _sealed(value: Any, sealer: Sealer, memo: dict[bytes, str] | None) -> str:
    if memo is None:
        return sealer.seal(value)
    plain = orjson.dumps(value)
    marker = memo.get(plain)
    if marker is None:
        marker = memo[plain] = sealer.seal(value)
    return marker


def sealed_trait_keys(message: Mapping[str, Any]) -> set[str]:
    """The keys of ``traits`` whose stored value is a marker."""
    traits = message.get("traits")
    if not isinstance(traits, dict):
        return set()
    return {key for key, value in traits.items() if is_sealed(value)}


def withhold(violations: list[dict[str, str]], sealed_keys: set[str]) -> list[dict[str, str]]:
    """Tracking-plan violations without the values of sealed traits.

    JSON Schema messages quote the failing value (``"'x' is not a 'email'"``); a violation of
    ``traits.<sealed key>`` keeps its path and keyword and loses the quote, so the value is not
    stored in clear beside its sealed copy.
    """
    if not sealed_keys:
        return violations
    return [
        {**v, "message": f"the value breaks '{v.get('keyword')}' (withheld: sealed)"}
        if _about(v.get("path"), sealed_keys)
        else v
        for v in violations
    ]


def withhold_values(violations: str | None, sealed_keys: set[str]) -> str | None:
    """``withhold`` on violations stored as JSON text."""
    if not violations or not sealed_keys:
        return violations
    found = orjson.loads(violations)
    if not isinstance(found, list):
        return violations
    return orjson.dumps(withhold(found, sealed_keys)).decode()


def _about(path: object, keys: set[str]) -> bool:
    if not isinstance(path, str) or not path.startswith("traits."):
        return False
    return path.split(".", 2)[1] in keys


# --- reading ----------------------------------------------------------------------------------

_installed: Sealer | None = None
_configured = False


def configure(keys: Sequence[str | SecretStr]) -> Sealer | None:
    """Install the keys this process opens payloads with (none: sealing off); the sealer."""
    global _installed, _configured
    _installed = Sealer(keys) if keys else None
    _configured = True
    return _installed


def installed() -> Sealer | None:
    """This process's sealer; on first use without ``configure``, from the environment."""
    if not _configured:
        configure(get_settings().privacy.encryption_keys)
    return _installed


def open_message(
    message: dict[str, Any], sealer: Sealer | None = None, only: Container[str] | None = None
) -> dict[str, Any]:
    """Open the sealed trait values of a parsed message in place (and return it)."""
    sealer = sealer or installed()
    if sealer is None:
        return message
    for holder in trait_holders(message):
        for key, value in holder.items():
            if is_sealed(value) and (only is None or key in only):
                holder[key] = sealer.open(value)
    return message


def open_payload(text: str, only: Container[str] | None = None) -> dict[str, Any]:
    """A stored payload as a message, personal values opened: what every reader calls.

    ``only``: open just these trait keys (identity resolution needs the identifiers, not the
    address; each opening costs tens of microseconds); the others stay markers.
    """
    message = orjson.loads(text)
    if not isinstance(message, dict):
        return {}
    if _SEALED_TEXT in text:
        open_message(message, only=only)
    return message


def rotate_payload(text: str, sealer: Sealer) -> tuple[str, int, int]:
    """The payload with every marker re-sealed by the first key: ``(text, rotated, unreadable)``.

    A marker no configured key opens is left as it is and counted.
    """
    if _SEALED_TEXT not in text:
        return text, 0, 0
    message = orjson.loads(text)
    if not isinstance(message, dict):
        return text, 0, 0
    rotated = unreadable = 0
    for holder in trait_holders(message):
        for key, value in holder.items():
            if is_sealed(value):
                try:
                    holder[key] = sealer.rotate(value)
                    rotated += 1
                except InvalidToken:
                    unreadable += 1
    return (orjson.dumps(message).decode() if rotated else text), rotated, unreadable
