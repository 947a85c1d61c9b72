"""How the OpenAPI document describes errors: one envelope, the statuses Kizuna really answers.

Every error is ``{"error": {"code", "message", "details"?}}`` (``kizuna.errors``). The document
says so in three ways:

- routers and routes declare the statuses they answer with ``responses=error_responses(...)``
  (``/api/v1`` declares 401 and 403 once, on ``api_router``);
- FastAPI documents a ``422 HTTPValidationError`` on every operation with inputs, but Kizuna
  answers invalid input with ``400 request.invalid``: ``document_errors`` turns each such 422
  into a 400 and drops FastAPI's validation schemas;
- an operation with a path parameter names an object (every path parameter is an id or a
  token), so it documents 404; and every error response without a body schema gets the
  envelope's.

``tests/security/test_api_fuzz.py`` runs schemathesis' status-code and response-schema
conformance checks, so the document and the app cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine code: `request.invalid`, `auth.missing_scope`")
    message: str = Field(description="A sentence for people; may change between versions")
    details: Any = Field(
        default=None, description="Optional: the fields at fault, the scope needed, ..."
    )


class ErrorEnvelope(BaseModel):
    """Every error Kizuna answers (the tracking API adds Segment's top-level fields)."""

    error: ErrorBody


_REF = "#/components/schemas/ErrorEnvelope"

_DESCRIPTIONS = {
    400: "`request.invalid` (the details list each field and rule) or another refusal of "
    "the request's content",
    401: "`auth.required` or `auth.invalid_key`: no API key, or an unknown or revoked one",
    403: "`auth.missing_scope` (the key's role lacks the scope; audited) or "
    "`auth.write_key_not_allowed` (a source's write key)",
    404: "The object named by the request does not exist (`*.not_found`)",
    409: "The object's current state does not allow this (`conflict`, `*.exists`)",
    413: "The request body is over the limit (`*.too_large`)",
    429: "Rate limited (`rate_limited`); retry after `Retry-After` seconds",
    503: "Temporarily unavailable; nothing was done, retry",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these statuses, each with the error envelope (always JSON,
    whatever the route's own media type)."""
    content = {"application/json": {"schema": {"$ref": _REF}}}
    return {
        status: {"description": _DESCRIPTIONS[status], "content": content} for status in statuses
    }


API_ERRORS = error_responses(401, 403)
NOT_FOUND = error_responses(404)
CONFLICT = error_responses(409)

_METHODS = ("get", "put", "post", "delete", "patch")


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5")


def _document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    invalid = responses.pop("422", None)
    if invalid is not None and "400" not in responses:
        responses["400"] = {"description": _DESCRIPTIONS[400]}
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        responses.setdefault("404", {"description": _DESCRIPTIONS[404]})
    for status, response in responses.items():
        if _is_error(status) and not response.get("content"):
            response["content"] = {"application/json": {"schema": {"$ref": _REF}}}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite FastAPI's generated document so it describes Kizuna's errors (in place)."""
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method in _METHODS:
                _document_operation(operation)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if "/HTTPValidationError" not in json.dumps(schema.get("paths", {})):
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
    envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope.pop("$defs", {}))
    schemas["ErrorEnvelope"] = envelope
    return schema
