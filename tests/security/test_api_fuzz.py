"""Property-based fuzzing of the whole OpenAPI surface with schemathesis, in-process (ASGI).

Every documented operation gets generated requests, schema-valid and schema-violating, sent
with an admin API key (the tracking routes get a source's write key). Every answer must:

- not be a server error (``not_a_server_error``; an exception escaping the app fails too);
- answer with a status the document lists for the operation (``status_code_conformance``:
  400 for invalid input, 401/403, 404 where an object is named, ...; ``kizuna.openapi``);
- have a documented content type and headers, and a body matching the documented schema
  (``content_type_conformance``, ``response_headers_conformance``,
  ``response_schema_conformance``: 2xx bodies and the documented error envelope);
- when it is an error, carry the ``{"error": {"code", "message"}}`` envelope ``errors.py``
  promises (``error_envelope`` below).

Left out on purpose, because the schema cannot say it (see ``docs/threat-model.md``):
``positive_data_acceptance`` (rules beyond the schema: a Segment call needs userId or
anonymousId, identifiers must parse, purposes must be in the catalogue) and
``negative_data_rejection`` (unknown query parameters are ignored).

Fixed 500s keep their exact reproduction in ``FIXED_SERVER_ERRORS``; ``KNOWN_DOC_GAPS`` lists
the documentation defects the fuzzer still skips on one operation.
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import structlog.testing
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source

MAX_EXAMPLES = 15  # per operation and mode: the whole surface runs in about a minute
BIGINT = 2**63  # one past the largest 64-bit signed integer the databases store

load_all_checks()
from schemathesis.specs.openapi.checks import (  # noqa: E402  (registered by load_all_checks)
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)


@dataclass(frozen=True)
class KnownServerError:
    """A 500 found by this fuzzer and reported (``docs/threat-model.md`` §6), not yet fixed."""

    finding: str
    error: type[Exception]  # what escapes the app (the ASGI transport re-raises it)
    url: str  # the exact request that reproduces it
    body: dict[str, Any] | None = None


def _overflow(url: str, body: dict[str, Any] | None = None) -> KnownServerError:
    # SQLite raises OverflowError; PostgreSQL raises psycopg's DataError (bigint out of range)
    return KnownServerError("SEC-1: an integer beyond 64 bits", OverflowError, url, body)


_HUGE = str(BIGINT)
# 500s this fuzzer found (SEC-1, SEC-8), fixed since: each exact request stays as a regression
# test below. The fuzzer tolerates no server error at all.
FIXED_SERVER_ERRORS: dict[tuple[str, str], KnownServerError] = {
    ("GET", "/api/v1/events"): _overflow(f"/api/v1/events?before={_HUGE}"),
    ("GET", "/api/v1/events/{seq}"): _overflow(f"/api/v1/events/{_HUGE}"),
    ("GET", "/api/v1/audit"): _overflow(f"/api/v1/audit?before_id={_HUGE}"),
    ("GET", "/api/v1/identity/matches"): _overflow(f"/api/v1/identity/matches?offset={_HUGE}"),
    ("GET", "/api/v1/identity/conflicts"): _overflow(
        f"/api/v1/identity/conflicts?limit=-{BIGINT + 1}"
    ),
    ("GET", "/api/v1/identity/refusals"): _overflow(
        f"/api/v1/identity/refusals?limit=-{BIGINT + 1}"
    ),
    ("POST", "/api/v1/identity/matches/{match_id}/accept"): _overflow(
        f"/api/v1/identity/matches/{_HUGE}/accept"
    ),
    ("POST", "/api/v1/identity/matches/{match_id}/reject"): _overflow(
        f"/api/v1/identity/matches/{_HUGE}/reject"
    ),
    ("POST", "/api/v1/identity/retractions"): _overflow(
        "/api/v1/identity/retractions", {"kind": "event", "target": _HUGE}
    ),
    ("POST", "/api/v1/pipeline/dead-letters/{dead_letter_id}/replay"): _overflow(
        f"/api/v1/pipeline/dead-letters/{_HUGE}/replay"
    ),
    ("POST", "/api/v1/pipeline/dead-letters/{dead_letter_id}/discard"): _overflow(
        f"/api/v1/pipeline/dead-letters/{_HUGE}/discard"
    ),
    ("POST", "/api/v1/quarantine/replay"): _overflow(
        "/api/v1/quarantine/replay", {"ids": [BIGINT]}
    ),
    ("POST", "/api/v1/quarantine/{quarantined_id}/discard"): _overflow(
        f"/api/v1/quarantine/{_HUGE}/discard"
    ),
    ("POST", "/api/v1/identity/rules/dry-run"): KnownServerError(
        "SEC-8: an invalid regular expression in blocked_patterns",
        re.error,
        "/api/v1/identity/rules/dry-run",
        {"blocked_patterns": ["[a"]},
    ),
}

# Checks skipped on one operation because its documentation is wrong (SEC-3 follow-up): the
# owner of the route adds the status with ``responses=kizuna.openapi.NOT_FOUND``, then the
# entry goes.
KNOWN_DOC_GAPS: dict[tuple[str, str], list[Any]] = {}


def error_envelope(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Errors are ``{"error": {"code": str, "message": str, ...}}`` (``kizuna.errors``)."""
    content_type = next(
        (v[0] for k, v in response.headers.items() if k.lower() == "content-type" and v), ""
    )
    if response.status_code < 400 or not content_type.startswith("application/json"):
        return
    error = response.json().get("error") if isinstance(response.json(), dict) else None
    assert isinstance(error, dict), f"no error envelope: {response.text[:200]}"
    assert isinstance(error.get("code"), str), f"no error code: {response.text[:200]}"
    assert isinstance(error.get("message"), str), f"no error message: {response.text[:200]}"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    error_envelope,
]


def _document() -> dict[str, Any]:
    """The OpenAPI document (the app is built, never started: no database is opened)."""
    never_opened = Path(tempfile.gettempdir()) / "kizuna-openapi-only.db"
    return create_app(Settings(database_url=f"sqlite:///{never_opened}")).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(METHOD, path, has_inputs)`` of every documented operation."""
    return sorted(
        (method.upper(), path, bool(op.get("parameters") or op.get("requestBody")))
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    )


OPERATIONS = _operations(_document())


@dataclass
class Fuzzed:
    app: FastAPI
    schema: schemathesis.BaseSchema
    admin: str
    write_key: str

    def authorization(self, path: str) -> str:
        return self.write_key if path.startswith("/v1/") else self.admin


@pytest.fixture(scope="module")
def fuzzed(sqlite_settings: Settings) -> Iterator[Fuzzed]:
    platform = Platform(sqlite_settings)
    app = create_app(sqlite_settings, platform)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan
    admin_key = make_api_key(platform.db, "admin")
    write_key = make_source(platform.db, "fuzz-web", "web").write_key
    basic = base64.b64encode(f"{write_key}:".encode()).decode()
    try:
        yield Fuzzed(app, loaded, admin=f"Bearer {admin_key}", write_key=f"Basic {basic}")
    finally:
        schemathesis.python.asgi.shutdown_lifespans()


def _is_known(key: tuple[str, str], exc: Exception) -> bool:
    return False  # every server error fails the run


@pytest.mark.parametrize(
    ("method", "path", "has_inputs"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_operation_never_fails_and_answers_as_documented(
    fuzzed: Fuzzed, method: str, path: str, has_inputs: bool
) -> None:
    operation = fuzzed.schema[path][method]
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_inputs else [])
    cases = st.one_of(*(operation.as_strategy(mode) for mode in modes))
    headers = {"Authorization": fuzzed.authorization(path)}
    skipped = KNOWN_DOC_GAPS.get((method, path), [])
    checks = [check for check in CHECKS if check not in skipped]

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES * len(modes),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except Exception as exc:  # the ASGI transport re-raises what the app did not handle
            if not _is_known((method, path), exc):
                raise

    # An unhandled error is logged with structlog's default (rich) traceback when logging is
    # not configured, which takes seconds; capturing the records keeps the run fast.
    with structlog.testing.capture_logs():
        fuzz()


# --- the known defects, reproduced exactly ----------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [pytest.param(key, id=f"{key[0]} {key[1]}") for key in sorted(FIXED_SERVER_ERRORS)],
)
def test_a_known_server_error_is_now_a_client_error(fuzzed: Fuzzed, key: tuple[str, str]) -> None:
    """The exact request that used to answer 500 now gets a clear 4xx."""
    known = FIXED_SERVER_ERRORS[key]
    client = TestClient(fuzzed.app, raise_server_exceptions=False)  # the lifespan already runs
    with structlog.testing.capture_logs():
        response = client.request(
            key[0], known.url, json=known.body, headers={"Authorization": fuzzed.admin}
        )
    assert response.status_code in (400, 404, 422), response.text
