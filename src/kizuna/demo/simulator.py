"""Send Kizuna Mart's customer stories to a running Kizuna through the public ``/v1`` API.

The simulator is a client like any other: it authenticates with each source's write key (HTTP
Basic user name), posts ``/v1/batch`` once per flush interval and source, honours 429
``Retry-After``, and retries 5xx and network errors with backoff. A retried batch is safe: every
message carries its own ``messageId``, and Kizuna deduplicates on it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson
import structlog

from kizuna.demo.catalog import Person
from kizuna.demo.messages import Step, crm_identify
from kizuna.demo.stories import StoryTeller
from kizuna.kit.clock import iso, utcnow

log = structlog.get_logger(__name__)


class Simulator:
    """Backfill the population, then a steady stream of stories at ``rate`` events per second.

    Stoppable from any thread with ``stop()``. Errors are logged and never raised out of
    ``backfill()`` or ``run()``: a demo must not take down the server it runs beside.
    """

    def __init__(
        self,
        base_url: str,
        write_keys: Mapping[str, str],
        people: Sequence[Person],
        *,
        rate: float = 5.0,
        seed: int | None = None,
        flush_interval: float = 1.0,
        backfill_batch: int = 250,
        max_attempts: int = 8,
        progress_every: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.write_keys = dict(write_keys)
        self.people = people
        self.rate = max(0.0, rate)
        self.flush_interval = flush_interval
        self.backfill_batch = backfill_batch
        self.max_attempts = max_attempts
        self.progress_every = progress_every
        self.rng = random.Random(seed)  # noqa: S311 - simulated behaviour, not secrets
        self._jitter = random.Random()  # noqa: S311 - retries must not shift the stories
        self.sent: Counter[str] = Counter()  # acknowledged events per source kind
        self.failed: Counter[str] = Counter()  # events given up on, per source kind
        self._teller = StoryTeller(people, self.rng)
        self._active: deque[deque[Step]] = deque()
        self._stop = threading.Event()
        self._client = httpx.Client(base_url=self.base_url, timeout=10.0, trust_env=False)

    # --- lifecycle -----------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._client.close()

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Poll ``/readyz`` until it answers 200; False when stopped or out of time first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            try:
                if self._client.get("/readyz", timeout=2.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._stop.wait(0.2)
        return False

    # --- the two phases ------------------------------------------------------------------

    def backfill(self, people: Sequence[Person] | None = None) -> int:
        """One CRM identify per person through the import source; returns how many landed."""
        people = self.people if people is None else people
        landed = 0
        for start in range(0, len(people), self.backfill_batch):
            if self._stop.is_set():
                break
            chunk = [crm_identify(p) for p in people[start : start + self.backfill_batch]]
            try:
                if self.send("import", chunk):
                    landed += len(chunk)
            except Exception:
                log.exception("demo_backfill_error")
                self.failed["import"] += len(chunk)
        log.info("demo_backfill_done", people=len(people), identified=landed)
        return landed

    def run(self, *, max_events: int | None = None, run_for: float | None = None) -> int:
        """Stream stories until stopped, ``max_events`` sent, or ``run_for`` seconds passed.

        Returns the number of events emitted (acknowledged or given up on, see ``sent`` and
        ``failed``).
        """
        deadline = None if run_for is None else time.monotonic() + run_for
        per_flush = max(1, round(self.rate * self.flush_interval))
        emitted = 0
        budget = 0.0
        last = time.monotonic()
        last_progress = last
        while not self._stop.is_set():
            if max_events is not None and emitted >= max_events:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if self._stop.wait(self.flush_interval):
                break
            now = time.monotonic()
            # After a slow send or an outage, catch up a little but never flood.
            budget = min(budget + (now - last) * self.rate, 5.0 * per_flush)
            last = now
            count = int(budget)
            budget -= count
            if max_events is not None:
                count = min(count, max_events - emitted)
            try:
                steps = self._take(count)
                emitted += len(steps)
                self._send_steps(steps)
            except Exception:
                log.exception("demo_simulator_error")
            if now - last_progress >= self.progress_every:
                last_progress = now
                log.info(
                    "demo_simulator_progress", sent=self.sent.total(), failed=self.failed.total()
                )
        return emitted

    # --- stories to requests -------------------------------------------------------------

    def _take(self, count: int) -> list[Step]:
        """The next ``count`` steps, at most one per story, so each story keeps its order."""
        taken: list[Step] = []
        used: list[deque[Step]] = []
        for _ in range(count):
            story = self._active.popleft() if self._active else deque(self._teller.next_story())
            taken.append(story.popleft())
            if story:
                used.append(story)
        self._active.extend(used)  # stories not advanced this time go first next time
        return taken

    def _send_steps(self, steps: Sequence[Step]) -> None:
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for step in steps:
            by_kind.setdefault(step.kind, []).append(step.message)
        for kind, messages in by_kind.items():
            self.send(kind, messages)

    def send(self, kind: str, messages: list[dict[str, Any]]) -> bool:
        """Post one batch through the source of ``kind``; True once Kizuna acknowledged it."""
        write_key = self.write_keys.get(kind)
        if write_key is None:
            log.warning("demo_no_source", kind=kind, events=len(messages))
            self.failed[kind] += len(messages)
            return False
        stamped = iso(utcnow())
        for message in messages:
            message.setdefault("timestamp", stamped)
        for attempt in range(1, self.max_attempts + 1):
            # sentAt is fresh on every attempt so Kizuna's clock correction stays exact.
            body = orjson.dumps({"batch": messages, "sentAt": iso(utcnow())})
            delay: float
            try:
                response = self._client.post(
                    "/v1/batch",
                    content=body,
                    auth=(write_key, ""),
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                delay = self._backoff(attempt)
                log.warning("demo_send_retry", kind=kind, error=type(exc).__name__, delay=delay)
            else:
                status = response.status_code
                if status == 200:
                    self.sent[kind] += len(messages)
                    return True
                if status != 429 and status < 500:
                    log.error(
                        "demo_batch_rejected", kind=kind, status=status, body=response.text[:500]
                    )
                    break
                retry_after = _retry_after(response)
                delay = self._backoff(attempt) if retry_after is None else min(retry_after, 60.0)
                log.warning("demo_send_retry", kind=kind, status=status, delay=delay)
            if attempt == self.max_attempts or self._stop.wait(delay):
                break
        self.failed[kind] += len(messages)
        return False

    def _backoff(self, attempt: int) -> float:
        return min(30.0, 0.5 * 2.0 ** (attempt - 1)) * (0.5 + self._jitter.random() / 2)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
