"""Collect one tracking request: authenticate, limit, parse, validate, apply the plan, commit."""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from kizuna.config import IngestionSettings
from kizuna.errors import BadRequest, KizunaError, PayloadTooLarge, RateLimited, Unauthorized
from kizuna.ingestion.directory import SourceContext, SourceDirectory
from kizuna.ingestion.ratelimit import RateLimiter
from kizuna.ingestion.rules import EventTooLarge, LogEntry, build_entry
from kizuna.ingestion.schemas import (
    MESSAGE_TYPES,
    BatchRequest,
    Message,
    PageMessage,
    ScreenMessage,
    TrackMessage,
)
from kizuna.ingestion.writer import LogWriter, StorageUnavailable, WriteResult
from kizuna.kit.clock import to_millis, utcnow
from kizuna.metrics import ACK_SECONDS, REJECTED_REQUESTS
from kizuna.privacy.personal_fields import PersonalFieldCache
from kizuna.privacy.sealing import Sealer, seal_payload, withhold_values
from kizuna.privacy.suppression import SuppressionList


class StorageError(KizunaError):
    code = "storage.unavailable"
    status = 503


class Collector:
    def __init__(
        self,
        settings: IngestionSettings,
        writer: LogWriter,
        directory: SourceDirectory,
        partitions: int,
        share: float = 1.0,
        suppressions: SuppressionList | None = None,
        sealer: Sealer | None = None,
        personal: PersonalFieldCache | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.directory = directory
        self.partitions = partitions
        # Events of suppressed identifiers (erased or do-not-track people) are dropped and
        # counted as ``suppressed``; the client is told nothing (Segment answers 200 as well).
        self.suppressions = suppressions
        # With encryption keys configured, personal trait values are sealed here, before the
        # entries reach the writer: every server process shares the cost, and the one
        # group-commit writer, which serialises appends, does no cryptography.
        self.sealer = sealer
        self.personal = personal
        # With N server processes each enforces 1/N of a write key's limit: the port's load
        # balancing spreads a client's connections across them.
        self.limiter = RateLimiter(
            settings.rate_limit_per_second * share, settings.rate_limit_burst * share
        )

    async def collect(
        self, message_type: str | None, headers: Mapping[str, str], body: AsyncIterator[bytes]
    ) -> WriteResult:
        """``message_type`` is the call's type, or None for ``/v1/batch``."""
        started = time.perf_counter()
        source: SourceContext | None = None
        try:
            header_key = _basic_write_key(headers.get("authorization"))
            if header_key is not None:
                source = await self._authenticate(header_key)
            raw = _parse(await self._read(body, headers), self.settings.max_batch_bytes)
            if source is None:
                body_key = raw.get("writeKey")
                if not isinstance(body_key, str) or not body_key:
                    raise Unauthorized(
                        "Send the source's write key as the Basic auth user name or as "
                        "writeKey in the body.",
                        code="auth.write_key_required",
                    )
                source = await self._authenticate(body_key)
            self._limit(source)
            if self.suppressions is not None and self.suppressions.stale():
                await run_in_threadpool(self.suppressions.refresh)
            if self.sealer is not None and self.personal is not None and self.personal.stale():
                await run_in_threadpool(self.personal.refresh)
            entries = self._entries(source, message_type, raw)
            result = await self.writer.write(entries) if entries else WriteResult()
        except KizunaError as exc:
            REJECTED_REQUESTS.labels(exc.code).inc()
            if source is not None and exc.status < 500:
                self.writer.tally(source.id, _outcome(exc))
            raise
        except StorageUnavailable as exc:
            raise StorageError(
                "Events could not be committed; retry later.", headers={"Retry-After": "1"}
            ) from exc
        ACK_SECONDS.observe(time.perf_counter() - started)
        return result

    async def _authenticate(self, write_key: str) -> SourceContext:
        hit, source = self.directory.lookup_cached(write_key)
        if not hit:
            source = await run_in_threadpool(self.directory.lookup, write_key)
        if source is None:
            raise Unauthorized("Unknown write key.", code="auth.invalid_write_key")
        if source.revoked:
            raise Unauthorized("This write key has been revoked.", code="auth.write_key_revoked")
        return source

    def _limit(self, source: SourceContext) -> None:
        wait = self.limiter.take(source.id)
        if wait > 0:
            retry_after = str(max(1, int(wait + 0.999)))
            raise RateLimited(
                "Too many requests for this write key.",
                code="rate_limited",
                headers={"Retry-After": retry_after},
            )

    async def _read(self, body: AsyncIterator[bytes], headers: Mapping[str, str]) -> bytes:
        limit = self.settings.max_batch_bytes
        encoding = headers.get("content-encoding", "").lower()
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit and not encoding:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in body:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        data = b"".join(chunks)
        if encoding in ("gzip", "deflate"):
            data = _inflate(data, limit)
        elif encoding not in ("", "identity"):
            raise BadRequest(
                f"Unsupported Content-Encoding {encoding!r}.", code="request.unsupported_encoding"
            )
        return data

    def _entries(
        self, source: SourceContext, message_type: str | None, raw: dict[str, Any]
    ) -> list[LogEntry]:
        received_at = to_millis(utcnow())
        if message_type is None:
            try:
                batch = BatchRequest.model_validate(raw)
            except ValidationError as exc:
                raise _invalid(exc, prefix="batch") from exc
            raw_messages = raw["batch"]
            if not raw_messages:
                raise BadRequest("The batch is empty.", code="batch.empty")
            models: list[Message] = list(batch.batch)
            batch_sent_at, batch_context = batch.sentAt, batch.context
        else:
            raw = {**raw, "type": message_type}
            try:
                models = [MESSAGE_TYPES[message_type].model_validate(raw)]
            except ValidationError as exc:
                raise _invalid(exc) from exc
            raw_messages = [raw]
            batch_sent_at, batch_context = None, None
        entries = []
        for index, (model, message) in enumerate(zip(models, raw_messages, strict=True)):
            try:
                entry = build_entry(
                    message,
                    message_type=model.type,  # type: ignore[attr-defined]
                    name=_call_name(model),
                    sent_at=model.sentAt or batch_sent_at,
                    original_timestamp=model.timestamp,
                    batch_context=batch_context,
                    received_at=received_at,
                    source_id=source.id,
                    source_kind=source.kind,
                    partitions=self.partitions,
                    max_event_bytes=self.settings.max_event_bytes,
                )
            except EventTooLarge as exc:
                raise BadRequest(
                    f"Event {index} is {exc.size} bytes; the limit is {exc.limit}.",
                    code="event.too_large",
                    details={"index": index, "size": exc.size},
                ) from exc
            except OverflowError as exc:  # a clock correction beyond the years 1-9999
                raise BadRequest(
                    f"Event {index} has a timestamp that cannot be represented.",
                    code="event.invalid",
                    details=[
                        {"loc": [str(index), "timestamp"], "msg": str(exc), "type": "date_range"}
                    ],
                ) from exc
            entries.append(entry)
        if self.suppressions is not None and len(self.suppressions):
            entries, raw_messages = self._unsuppressed(source, entries, raw_messages, batch_context)
        if source.plan.enforced:
            self._apply_plan(source, entries, raw_messages)
        if self.sealer is not None and self.personal is not None:
            personal = self.personal.current
            memo: dict[bytes, str] = {}  # equal values of one request share a token
            for entry in entries:
                entry.payload, sealed = seal_payload(
                    entry.payload, personal, self.sealer, memo=memo
                )
                if sealed and entry.violations:
                    entry.violations = withhold_values(entry.violations, sealed)
        return entries

    def _unsuppressed(
        self,
        source: SourceContext,
        entries: list[LogEntry],
        raw_messages: list[dict[str, Any]],
        batch_context: dict[str, Any] | None,
    ) -> tuple[list[LogEntry], list[dict[str, Any]]]:
        assert self.suppressions is not None
        kept: list[LogEntry] = []
        kept_messages: list[dict[str, Any]] = []
        for entry, raw in zip(entries, raw_messages, strict=True):
            message = raw
            if batch_context:  # identifiers may sit in the batch's context (traits)
                own = raw.get("context")
                context = {**batch_context, **own} if isinstance(own, dict) else batch_context
                message = {**raw, "context": context}
            if self.suppressions.suppressed(message):
                continue
            kept.append(entry)
            kept_messages.append(raw)
        if len(kept) < len(entries):
            self.writer.tally(source.id, "suppressed", len(entries) - len(kept))
        return kept, kept_messages

    @staticmethod
    def _apply_plan(
        source: SourceContext, entries: list[LogEntry], raw_messages: list[dict[str, Any]]
    ) -> None:
        plan = source.plan
        rejected = []
        for index, (entry, message) in enumerate(zip(entries, raw_messages, strict=True)):
            violations = plan.violations(message)
            if not violations:
                continue
            if plan.mode == "reject":
                rejected.append({"index": index, "violations": violations})
                continue
            entry.violations = orjson.dumps(violations).decode()
            entry.plan_version = plan.version
            entry.status = "warned" if plan.mode == "warn" else "quarantine"
        if rejected:
            raise BadRequest(
                "The request breaks the source's tracking plan; nothing was stored.",
                code="tracking_plan.violation",
                details=rejected,
            )


def _call_name(model: Message) -> str | None:
    """A track's event or a page's or screen's name; never an extra field of another call."""
    if isinstance(model, TrackMessage):
        return model.event
    if isinstance(model, PageMessage | ScreenMessage):
        return model.name
    return None


def _basic_write_key(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized(
            "Malformed Basic authorization header.", code="auth.malformed_header"
        ) from exc
    return decoded.split(":", 1)[0] or None


def _parse(data: bytes, limit: int) -> dict[str, Any]:
    if len(data) > limit:
        raise _too_large(limit)
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"The body is not valid JSON: {exc}", code="request.malformed_json"
        ) from exc
    if not isinstance(raw, dict):
        raise BadRequest("The body must be a JSON object.", code="request.invalid")
    return raw


def _inflate(data: bytes, limit: int) -> bytes:
    try:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib headers
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BadRequest(
            "The body could not be decompressed.", code="request.bad_encoding"
        ) from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise _too_large(limit)
    return out


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request is larger than {limit} bytes.",
        code="batch.too_large",
        details={"limit": limit},
    )


def _invalid(exc: ValidationError, prefix: str | None = None) -> BadRequest:
    details = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)[:20]
    ]
    return BadRequest(
        "The event does not follow the Segment spec.", code="event.invalid", details=details
    )


def _outcome(exc: KizunaError) -> str:
    return "rate_limited" if exc.status == 429 else "rejected"
