"""The server-rendered web console (Japanese and English), mounted under ``/console``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from kizuna.console import (
    views_auth,
    views_computed_traits,
    views_events,
    views_matches,
    views_overview,
    views_pipeline,
    views_privacy,
    views_profiles,
    views_quarantine,
    views_segments,
    views_sources,
)
from kizuna.console.security import LoginThrottle
from kizuna.console.web import HERE, AnyViewer, ConsoleRoute, render


def _not_found_router() -> APIRouter:
    router = APIRouter(route_class=ConsoleRoute)

    @router.get("/{path:path}")
    def not_found(request: Request, viewer: AnyViewer, path: str) -> Response:
        """Any other console address: a page saying so, in the visitor's language."""
        context = {"status": 404, "code": "not_found", "message": viewer.t("error.not_found")}
        return render(request, viewer, "error.html", context, status_code=404)

    return router


def mount_console(app: FastAPI) -> None:
    """Attach the console's pages under ``/console``, its static files, and ``/`` → console."""
    app.state.console_login_throttle = LoginThrottle()
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    console = APIRouter(prefix="/console", include_in_schema=False)
    for views in (
        views_auth,
        views_overview,
        views_sources,
        views_events,
        views_quarantine,
        views_pipeline,
        views_profiles,
        views_matches,
        views_segments,
        views_computed_traits,
        views_privacy,
    ):
        console.include_router(views.router)
    console.include_router(_not_found_router())
    app.include_router(console)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)
