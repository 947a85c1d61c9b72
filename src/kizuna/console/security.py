"""Pure console safeguards: where a login may send you back to, and login throttling."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

HOME = "/console/"


def safe_next(target: str | None) -> str:
    """``target`` when it is a path inside the console, else the console home (no open redirect)."""
    if not target or any(ch in target for ch in "\\\r\n\t") or target.startswith("//"):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console"):
        return HOME
    return target


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an absent token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class LoginThrottle:
    """Per (email, address) failure counter kept in memory: after ``max_failures`` failures
    within ``window`` seconds, further attempts are refused for ``lockout`` seconds."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 60.0,
        lockout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(email: str, address: str) -> tuple[str, str]:
        return (email.strip().lower(), address)

    def retry_after(self, key: tuple[str, str]) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            until = self._locked_until.get(key, 0.0)
            remaining = until - self.clock()
            if remaining <= 0:
                self._locked_until.pop(key, None)
                return 0.0
            return remaining

    def failed(self, key: tuple[str, str]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:  # a flood must not grow memory
                self._failures.clear()
            recent = [t for t in self._failures.get(key, []) if now - t < self.window]
            recent.append(now)
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now + self.lockout
                recent = []
            self._failures[key] = recent

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)
