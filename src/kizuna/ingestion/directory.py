"""Write key → source, cached briefly so ingestion does not query the database per request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from kizuna.db import Database
from kizuna.ingestion.plans import CompiledPlan, PlanInvalid, compile_plan
from kizuna.sources.service import find_by_write_key


@dataclass(frozen=True)
class SourceContext:
    id: str
    name: str
    kind: str
    revoked: bool
    plan: CompiledPlan


class SourceDirectory:
    def __init__(self, db: Database, ttl_seconds: float) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, SourceContext | None]] = {}
        self._lock = threading.Lock()

    def lookup_cached(self, write_key: str) -> tuple[bool, SourceContext | None]:
        """``(hit, source)``: a fresh cache entry (a known or an unknown key), or a miss."""
        cached = self._cache.get(write_key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return True, cached[1]
        return False, None

    def lookup(self, write_key: str) -> SourceContext | None:
        cached = self._cache.get(write_key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        context = self._load(write_key)
        with self._lock:
            if len(self._cache) > 10_000:  # unknown keys from a flood must not grow memory
                self._cache.clear()
            self._cache[write_key] = (now, context)
        return context

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def _load(self, write_key: str) -> SourceContext | None:
        with self.db.read() as session:
            source = find_by_write_key(session, write_key)
            if source is None:
                return None
            try:
                plan = compile_plan(source.plan, source.plan_mode, source.plan_version)
            except PlanInvalid:  # stored plans are checked on write; never fail ingestion
                plan = compile_plan(None, "allow", source.plan_version)
            return SourceContext(
                id=source.id,
                name=source.name,
                kind=source.kind,
                revoked=source.revoked_at is not None,
                plan=plan,
            )
