"""Signed links for people: the preference centre and RFC 8058 one-click unsubscribe.

A link carries a profile id (and, to unsubscribe, the purpose, channel and address) signed
with itsdangerous under a key from ``keys.py``. Keys rotate without breaking links already
sent: the newest signs, every unretired key verifies. Preference links expire
(``KIZUNA_PRIVACY__LINK_DAYS``); unsubscribe links do not, since they can only say no.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from kizuna.config import Settings
from kizuna.errors import KizunaError
from kizuna.kit.clock import utcnow
from kizuna.privacy.keys import LINKS, active_secrets

PREFERENCES = "kizuna.preferences"
UNSUBSCRIBE = "kizuna.unsubscribe"


class InvalidLink(KizunaError):
    status = 403
    code = "consent.link_invalid"


class ExpiredLink(KizunaError):
    status = 410
    code = "consent.link_expired"


@dataclass(frozen=True)
class Unsubscribe:
    profile_id: str
    purpose: str
    channel: str
    address: str | None


def _serializer(session: Session, salt: str) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and verifies with any of them
    return URLSafeTimedSerializer(list(reversed(active_secrets(session, LINKS))), salt=salt)


def _load(session: Session, salt: str, token: str, max_age: timedelta | None) -> Any:
    seconds = int(max_age.total_seconds()) if max_age is not None else None
    try:
        return _serializer(session, salt).loads(token, max_age=seconds)
    except SignatureExpired:
        raise ExpiredLink("this link has expired: ask for a new one") from None
    except BadSignature:
        raise InvalidLink("this link is not valid") from None


def preference_link(session: Session, settings: Settings, profile_id: str) -> tuple[str, datetime]:
    token = _serializer(session, PREFERENCES).dumps({"p": profile_id})
    expires = utcnow() + timedelta(days=settings.privacy.link_days)
    return f"{settings.base_url}/preferences/{token}", expires


def read_preference_token(session: Session, settings: Settings, token: str) -> str:
    data = _load(session, PREFERENCES, token, timedelta(days=settings.privacy.link_days))
    if not isinstance(data, dict) or not isinstance(data.get("p"), str):
        raise InvalidLink("this link is not valid")
    return str(data["p"])


def unsubscribe_link(
    session: Session,
    settings: Settings,
    profile_id: str,
    purpose: str,
    channel: str,
    address: str | None = None,
) -> str:
    """The URL for ``List-Unsubscribe`` (sent with ``List-Unsubscribe-Post:
    List-Unsubscribe=One-Click``, RFC 8058)."""
    payload = {"p": profile_id, "u": purpose, "c": channel, "a": address}
    return f"{settings.base_url}/unsubscribe/{_serializer(session, UNSUBSCRIBE).dumps(payload)}"


def read_unsubscribe_token(session: Session, token: str) -> Unsubscribe:
    data = _load(session, UNSUBSCRIBE, token, None)
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "puc"):
        raise InvalidLink("this link is not valid")
    address = data.get("a")
    return Unsubscribe(
        data["p"], data["u"], data["c"], address if isinstance(address, str) else None
    )
