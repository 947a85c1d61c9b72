"""What every console view shares: the visitor, templates, CSRF, and errors shown as pages.

Views declare who may call them with the aliases at the bottom (``CanReadSources``,
``PostSourcesWrite``...). POST aliases also check the form's ``csrf_token`` against the
session's, before the scope, so a forged request is refused whatever the role.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from kizuna import __version__
from kizuna.auth.denials import audit_denial
from kizuna.auth.service import Principal, active_session
from kizuna.config import Settings
from kizuna.console.i18n import choose_locale, has_key, translate
from kizuna.console.security import tokens_match
from kizuna.db import Database
from kizuna.errors import (
    OUT_OF_RANGE_ERRORS,
    BadRequest,
    Forbidden,
    KizunaError,
    error_response,
    out_of_range,
)
from kizuna.kit.clock import as_utc
from kizuna.privacy.audit import actor_of

HERE = Path(__file__).parent
SESSION_COOKIE = "kizuna_session"
LANG_COOKIE = "kizuna_lang"
LOGIN_CSRF_COOKIE = "kizuna_csrf"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking, in which language, and the CSRF token their forms must carry."""

    lang: str
    csrf_token: str
    principal: Principal | None = None
    mint_login_cookie: bool = False  # an anonymous visitor's double-submit cookie is new

    def t(self, key: str, **params: object) -> str:
        return translate(self.lang, key, **params)

    def t_or(self, key: str, fallback: str) -> str:
        """The text for ``key`` when the catalog has it (data from code may have none)."""
        return self.t(key) if has_key(self.lang, key) else fallback

    def error_text(self, code: str, message: str) -> str:
        """A translated sentence for a known error code, else the service's own message."""
        return self.t_or(f"error.{code}", message)

    def may(self, scope: str) -> bool:
        return self.principal is not None and self.principal.may(scope)


class LoginRequired(Exception):
    """Raised by ``signed_in``; the console answers with a redirect to the login page."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def current_viewer(request: Request) -> Viewer:
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    active = None
    if token:
        with database(request).read() as session:
            active = active_session(session, token)
    lang = _lang(request, active.locale if active else None)
    if active is not None:
        viewer = Viewer(lang=lang, csrf_token=active.csrf_token, principal=active.principal)
    else:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
        viewer = Viewer(
            lang=lang,
            csrf_token=cookie or secrets.token_urlsafe(24),
            mint_login_cookie=not cookie,
        )
    request.state.viewer = viewer
    return viewer


def _lang(request: Request, user_locale: str | None) -> str:
    return choose_locale(
        request.cookies.get(LANG_COOKIE),
        user_locale,
        request.headers.get("accept-language"),
        settings_of(request).console.default_locale,
    )


def signed_in(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer.principal is None:
        raise LoginRequired
    return viewer


def _require_scope(request: Request, viewer: Viewer, scope: str | None) -> None:
    if not scope or viewer.may(scope):
        return
    principal = viewer.principal
    if principal is None:  # signed_in() came first; kept for the type checker
        raise LoginRequired
    code = "auth.missing_scope"
    audit_denial(
        request, actor_of(principal), surface="console", code=code, scope=scope, role=principal.role
    )
    raise Forbidden(f"This needs the '{scope}' scope.", code=code, details={"scope": scope})


def csrf_refused(request: Request | None = None, viewer: Viewer | None = None) -> Forbidden:
    """A form without its session's token; audited when a session sent it (a forgery, or a
    page older than the session)."""
    code = "auth.csrf"
    if request is not None and viewer is not None and viewer.principal is not None:
        audit_denial(request, actor_of(viewer.principal), surface="console", code=code)
    return Forbidden("The form's security token is missing or wrong.", code=code)


def requires(scope: str | None = None) -> Callable[[Request], Viewer]:
    """A signed-in viewer holding ``scope`` (any signed-in viewer when None)."""

    def dependency(request: Request) -> Viewer:
        viewer = signed_in(request)
        _require_scope(request, viewer, scope)
        return viewer

    dependency.__name__ = f"console_{(scope or 'signed_in').replace(':', '_')}"
    return dependency


def posts(scope: str | None = None) -> Callable[..., Viewer]:
    """Like ``requires``, for a state-changing form: the CSRF token is checked first."""

    def dependency(request: Request, csrf_token: Annotated[str, Form()] = "") -> Viewer:
        viewer = signed_in(request)
        if not tokens_match(viewer.csrf_token, csrf_token):
            raise csrf_refused(request, viewer)
        _require_scope(request, viewer, scope)
        return viewer

    dependency.__name__ = f"console_post_{(scope or 'signed_in').replace(':', '_')}"
    return dependency


# --- rendering ---------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = _when
templates.env.filters["pretty_json"] = _pretty_json
templates.env.filters["fromjson"] = orjson.loads
templates.env.globals["version"] = __version__


def render(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    page = {
        "t": viewer.t,
        "lang": viewer.lang,
        "viewer": viewer,
        "csrf_token": viewer.csrf_token,
        "here": _here(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, template, page, status_code=status_code, headers=headers
    )
    if viewer.mint_login_cookie:
        set_cookie(request, response, LOGIN_CSRF_COOKIE, viewer.csrf_token, max_age=None)
    return response


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=settings_of(request).console.secure_cookies,
    )


def see_other(url: str, **query: object) -> RedirectResponse:
    """Post/redirect/get: 303 so the browser follows with a GET."""
    shown = {k: v for k, v in query.items() if v is not None}
    return RedirectResponse(url + (f"?{urlencode(shown)}" if shown else ""), status_code=303)


def error_page(request: Request, exc: KizunaError) -> Response:
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return error_response(exc)
    viewer = getattr(request.state, "viewer", None) or Viewer(
        lang=_lang(request, None), csrf_token=""
    )
    return render(
        request,
        viewer,
        "error.html",
        {
            "status": exc.status,
            "code": exc.code,
            "message": viewer.error_text(exc.code, exc.message),
        },
        status_code=exc.status,
        headers=exc.headers,
    )


def _login_redirect(request: Request) -> Response:
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=401)
    return see_other("/console/login", next=_here(request))


class ConsoleRoute(APIRoute):
    """Console routes answer errors with pages (or JSON when asked) and send security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = _login_redirect(request)
            except KizunaError as exc:
                response = error_page(request, exc)
            except RequestValidationError:
                response = error_page(
                    request, BadRequest("The form is incomplete.", code="request.invalid")
                )
            except OUT_OF_RANGE_ERRORS:
                response = error_page(request, out_of_range())
            response.headers.update(SECURITY_HEADERS)
            return response

        return handle


AnyViewer = Annotated[Viewer, Depends(current_viewer)]
SignedIn = Annotated[Viewer, Depends(requires())]
CanReadSources = Annotated[Viewer, Depends(requires("sources:read"))]
CanReadEvents = Annotated[Viewer, Depends(requires("events:read"))]
CanReadPipeline = Annotated[Viewer, Depends(requires("pipeline:read"))]
PostSignedIn = Annotated[Viewer, Depends(posts())]
PostSourcesWrite = Annotated[Viewer, Depends(posts("sources:write"))]
PostPipelineAdmin = Annotated[Viewer, Depends(posts("pipeline:admin"))]
PostIdentityAdmin = Annotated[Viewer, Depends(posts("identity:admin"))]
PostProfilesWrite = Annotated[Viewer, Depends(posts("profiles:write"))]
