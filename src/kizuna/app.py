"""``create_app()``: the API, the tracking endpoints, the console, and the running platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from kizuna import __version__
from kizuna.api import api_router
from kizuna.config import Settings, get_settings
from kizuna.console import mount_console
from kizuna.errors import install_error_handlers
from kizuna.ingestion.endpoints import router as tracking_router
from kizuna.ingestion.schemas import MESSAGE_TYPES, BatchRequest
from kizuna.openapi import document_errors
from kizuna.ops.endpoints import LAG_COLLECTOR
from kizuna.ops.endpoints import router as ops_router
from kizuna.privacy.pages import router as privacy_pages_router
from kizuna.runtime import Platform

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    settings = settings or get_settings()
    platform = platform or Platform(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform.migrate()
        platform.start(consumers=settings.pipeline.in_process)
        LAG_COLLECTOR.platform = platform
        log.info(
            "kizuna_started",
            database=platform.db.dialect,
            consumers_in_process=settings.pipeline.in_process,
        )
        try:
            yield
        finally:
            platform.stop()

    app = FastAPI(
        title="Kizuna",
        version=__version__,
        description="Omnichannel customer-experience platform. The Segment-compatible tracking "
        "API lives under `/v1`; Kizuna's own API under `/api/v1`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.platform = platform
    app.state.db = platform.db
    app.state.collector = platform.collector
    app.state.event_log = platform.event_log
    app.state.offsets = platform.offsets
    app.state.consumers = platform.consumers
    app.state.runner = platform.runner
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(tracking_router)
    app.include_router(api_router)
    app.include_router(privacy_pages_router)
    mount_console(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the Segment message models the tracking routes read by hand."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    models: list[type[BaseModel]] = [*MESSAGE_TYPES.values(), BatchRequest]
    for model in models:
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas[model.__name__] = doc
    components.setdefault("securitySchemes", {})["writeKeyBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "The source's write key as the user name, empty password.",
    }
    app.openapi_schema = document_errors(schema)
    return schema
