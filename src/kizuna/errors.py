"""One error type with a stable machine code, and the handlers that render it.

Every 4xx the API returns has the shape ``{"error": {"code", "message", "details"?}}``.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kizuna.kit.responses import JSONResponse

log = structlog.get_logger(__name__)


class KizunaError(Exception):
    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(KizunaError):
    code = "request.invalid"
    status = 400


class Unauthorized(KizunaError):
    code = "auth.required"
    status = 401


class Forbidden(KizunaError):
    code = "auth.forbidden"
    status = 403


class NotFound(KizunaError):
    code = "not_found"
    status = 404


class Conflict(KizunaError):
    code = "conflict"
    status = 409


class PayloadTooLarge(KizunaError):
    code = "request.too_large"
    status = 400


class RateLimited(KizunaError):
    code = "rate_limited"
    status = 429


def error_response(exc: KizunaError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def tracking_error_response(exc: KizunaError) -> JSONResponse:
    """The Tracking API's errors also carry Segment's top-level ``success``, ``code`` and
    ``message``, which Segment's own libraries read to report a refusal."""
    body = {"success": False, "code": exc.code, "message": exc.message, **exc.body()}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


_HTTP_CODES = {
    401: "auth.required",
    403: "auth.forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request.too_large",
}


class OutOfRange(BadRequest):
    code = "request.out_of_range"


# A number the database cannot hold (an id past 2**63, say): the client's value, not our fault.
OUT_OF_RANGE_ERRORS: tuple[type[Exception], ...] = (OverflowError, DataError)


def out_of_range() -> OutOfRange:
    return OutOfRange("A value in the request is out of the range the database can store.")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        if request.url.path.startswith("/v1/"):
            return tracking_error_response(out_of_range())
        return error_response(out_of_range())

    @app.exception_handler(KizunaError)
    async def _kizuna(request: Request, exc: KizunaError) -> JSONResponse:
        if request.url.path.startswith("/v1/"):
            return tracking_error_response(exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return error_response(
            BadRequest(
                "The request does not match the schema.", code="request.invalid", details=details
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
        return error_response(
            KizunaError(
                str(exc.detail),
                code=code,
                status=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=repr(exc))
        return error_response(
            KizunaError("Internal error; it has been logged.", code="internal", status=500)
        )
