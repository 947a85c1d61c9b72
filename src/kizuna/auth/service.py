"""Use-cases: issue and check API keys, create console users, open and close sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kizuna.auth.rules import ROLES, password_problem, scopes_for
from kizuna.errors import BadRequest, Conflict
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import hash_secret, new_id, new_secret
from kizuna.models import ApiKey, ConsoleSession, ConsoleUser

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Whoever is calling: an API key or a console user, with the scopes of its role."""

    kind: str  # api_key | console_user
    id: str
    name: str
    role: str

    @property
    def scopes(self) -> frozenset[str]:
        return scopes_for(self.role)

    def may(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    id: str
    secret: str
    role: str


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}", code="auth.unknown_role")


def create_api_key(session: Session, *, name: str, role: str) -> IssuedKey:
    """A new API key; its secret is returned once and only its hash is stored."""
    _check_role(role)
    secret = new_secret("kz")
    key = ApiKey(
        id=new_id("key"),
        name=name,
        role=role,
        key_hash=hash_secret(secret),
        prefix=secret[:7],
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return IssuedKey(id=key.id, secret=secret, role=role)


def principal_for_api_key(session: Session, secret: str) -> Principal | None:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        return None
    return Principal(kind="api_key", id=key.id, name=key.name, role=key.role)


def revoke_api_key(session: Session, key_id: str) -> bool:
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    return True


def create_console_user(
    session: Session, *, email: str, password: str, role: str, locale: str = "ja"
) -> ConsoleUser:
    _check_role(role)
    problem = password_problem(password)
    if problem:
        raise BadRequest(f"password: {problem}", code="auth.weak_password")
    email = email.strip().lower()
    if session.scalar(select(ConsoleUser).where(ConsoleUser.email == email)):
        raise Conflict(f"a user {email} already exists", code="auth.user_exists")
    user = ConsoleUser(
        id=new_id("usr"),
        email=email,
        password_hash=_hasher.hash(password),
        role=role,
        locale=locale,
        created_at=utcnow(),
        disabled=False,
    )
    session.add(user)
    session.flush()
    return user


def has_any_credentials(session: Session) -> bool:
    keys = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.revoked_at.is_(None), ApiKey.role == "admin")
    )
    users = session.scalar(
        select(func.count())
        .select_from(ConsoleUser)
        .where(ConsoleUser.disabled.is_(False), ConsoleUser.role == "admin")
    )
    return bool(keys or users)


def authenticate_user(session: Session, email: str, password: str) -> ConsoleUser | None:
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == email.strip().lower()))
    if user is None or user.disabled:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str


def open_session(session: Session, user: ConsoleUser, hours: float) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = utcnow()
    session.add(
        ConsoleSession(
            token_hash=hash_secret(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    return OpenedSession(token=token, csrf_token=csrf)


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    locale: str


def active_session(session: Session, token: str) -> ActiveSession | None:
    row = session.execute(
        select(ConsoleSession, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
        .where(ConsoleSession.token_hash == hash_secret(token))
    ).first()
    if row is None:
        return None
    console_session, user = row
    if console_session.expires_at < utcnow() or user.disabled:
        return None
    return ActiveSession(
        principal=Principal(kind="console_user", id=user.id, name=user.email, role=user.role),
        csrf_token=console_session.csrf_token,
        locale=user.locale,
    )


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == hash_secret(token)))
