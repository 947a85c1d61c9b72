"""Roles, scopes and the password policy: pure rules, no I/O."""

from __future__ import annotations

ROLES = ("admin", "marketer", "analyst", "support", "readonly")

SCOPES = (
    "events:read",
    "sources:read",
    "sources:write",
    "pipeline:read",
    "pipeline:admin",
    "catalog:read",
    "profiles:read",
    "profiles:write",
    "segments:read",
    "segments:write",
    "identity:admin",
    "privacy:admin",
    "audit:read",
    "keys:admin",
    "users:admin",
    "ops:read",  # /metrics and /readyz's details (Prometheus scrapers, operators)
)

_READ = frozenset({"events:read", "sources:read", "pipeline:read", "catalog:read", "segments:read"})

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "marketer": _READ | {"sources:write", "profiles:read", "segments:write"},
    "analyst": _READ | {"profiles:read"},
    "support": frozenset(
        {"events:read", "catalog:read", "profiles:read", "profiles:write", "segments:read"}
    ),
    "readonly": _READ,
}

MIN_PASSWORD_LENGTH = 12


def scopes_for(role: str) -> frozenset[str]:
    return ROLE_SCOPES.get(role, frozenset())


def password_problem(password: str) -> str | None:
    """Why a password is unacceptable, or None. Length beats composition rules (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    if len(set(password)) < 4:
        return "too few distinct characters"
    return None
