"""The Segment HTTP Tracking API: ``/v1/identify|track|page|screen|group|alias|batch|import``.

Authentication is Segment's: HTTP Basic with the write key as the user name, or ``writeKey``
in the body. A 200 means every event of the request is durably committed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from kizuna.ingestion.schemas import MESSAGE_TYPES, BatchRequest
from kizuna.ingestion.service import Collector
from kizuna.kit.responses import JSONResponse

router = APIRouter(prefix="/v1", tags=["tracking"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed, invalid, oversize, or against the tracking plan"},
    401: {"description": "Missing, unknown or revoked write key"},
    429: {"description": "Rate limit of this write key; see Retry-After"},
    503: {"description": "Storage unavailable; nothing was acknowledged, retry"},
}


def _body_doc(model: type) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
        "security": [{"writeKeyBasic": []}, {}],
    }


def _collector(request: Request) -> Collector:
    collector: Collector = request.app.state.collector
    return collector


async def _collect(request: Request, message_type: str | None) -> JSONResponse:
    await _collector(request).collect(message_type, request.headers, request.stream())
    return JSONResponse({"success": True})


def _route(message_type: str) -> None:
    model = MESSAGE_TYPES[message_type]

    async def endpoint(request: Request) -> JSONResponse:
        return await _collect(request, message_type)

    endpoint.__name__ = f"collect_{message_type}"
    endpoint.__doc__ = (
        f'Record one `{message_type}` call (Segment spec). Answers `{{"success": true}}` '
        "once the event is committed."
    )
    router.add_api_route(
        f"/{message_type}",
        endpoint,
        methods=["POST"],
        responses=_ERRORS,
        openapi_extra=_body_doc(model),
        summary=f"Segment {message_type}",
    )


for _type in MESSAGE_TYPES:
    _route(_type)


@router.post(
    "/batch", responses=_ERRORS, openapi_extra=_body_doc(BatchRequest), summary="Segment batch"
)
async def collect_batch(request: Request) -> JSONResponse:
    """Record up to 500 KB of messages in one request, committed together."""
    return await _collect(request, None)


@router.post(
    "/import",
    responses=_ERRORS,
    openapi_extra=_body_doc(BatchRequest),
    summary="Segment import (alias of batch)",
)
async def collect_import(request: Request) -> JSONResponse:
    """Alias of ``/v1/batch`` for bulk imports."""
    return await _collect(request, None)
