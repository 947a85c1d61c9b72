"""Signing in and out, and choosing the console's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from kizuna.auth.service import authenticate_user, close_session, open_session
from kizuna.console.i18n import LOCALES
from kizuna.console.security import LoginThrottle, safe_next, tokens_match
from kizuna.console.web import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AnyViewer,
    ConsoleRoute,
    PostSignedIn,
    csrf_refused,
    database,
    render,
    see_other,
    set_cookie,
    settings_of,
)

router = APIRouter(route_class=ConsoleRoute)

LANG_COOKIE_SECONDS = 365 * 24 * 3600


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.console_login_throttle
    return throttle


@router.get("/login")
def login_page(request: Request, viewer: AnyViewer, next: str = "") -> Response:
    """The sign-in form (signed-in visitors go straight on)."""
    if viewer.principal is not None:
        return see_other(safe_next(next))
    return render(request, viewer, "login.html", {"next": safe_next(next), "email": ""})


@router.post("/login")
def login(
    request: Request,
    viewer: AnyViewer,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password; open a session on success. The form carries a double-submit token."""
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        raise csrf_refused()
    target = safe_next(next)
    throttle = _throttle(request)
    key = throttle.key(email, request.client.host if request.client else "")
    wait = throttle.retry_after(key)
    if wait > 0:
        context = {"next": target, "email": email, "error": viewer.t("login.throttled")}
        return render(
            request, viewer, "login.html", context, 429, {"Retry-After": str(int(wait) + 1)}
        )
    settings = settings_of(request)
    with database(request).write() as session:
        user = authenticate_user(session, email, password)
        opened = open_session(session, user, settings.console.session_hours) if user else None
        session.commit()
    if opened is None:
        throttle.failed(key)
        context = {"next": target, "email": email, "error": viewer.t("login.failed")}
        return render(request, viewer, "login.html", context, 401)
    throttle.succeeded(key)
    response = see_other(target)
    max_age = int(settings.console.session_hours * 3600)
    set_cookie(request, response, SESSION_COOKIE, opened.token, max_age=max_age)
    return response


@router.post("/logout")
def logout(request: Request, _: PostSignedIn) -> Response:
    """End the session everywhere it is stored."""
    token = request.cookies.get(SESSION_COOKIE, "")
    with database(request).write() as session:
        close_session(session, token)
        session.commit()
    response = see_other("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.post("/lang")
def choose_language(
    request: Request,
    viewer: AnyViewer,
    lang: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Remember the chosen language in a cookie and go back to the page."""
    if not tokens_match(viewer.csrf_token, csrf_token) or viewer.mint_login_cookie:
        raise csrf_refused()
    response = see_other(safe_next(next))
    if lang in LOCALES:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=LANG_COOKIE_SECONDS)
    return response
