"""Identifiers and secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def new_id(prefix: str) -> str:
    """A sortable-enough, URL-safe id such as ``src_3f9c...``."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def new_secret(prefix: str, nbytes: int = 24) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def hash_secret(secret: str) -> str:
    """API keys are high-entropy random strings, so one SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_message_id() -> str:
    return str(uuid.uuid4())
