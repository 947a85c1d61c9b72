"""``/healthz``, ``/readyz`` and ``/metrics`` (who may read what: ``ops.access``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from kizuna.kit.responses import JSONResponse
from kizuna.metrics import EXTRA_COLLECTORS, REGISTRY, scrape_registry
from kizuna.migrations import is_current
from kizuna.openapi import error_responses
from kizuna.ops.access import is_ops_reader, require_ops_reader
from kizuna.pipeline.service import consumer_states
from kizuna.runtime import Platform

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _readiness(platform: Platform) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        with platform.db.read() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if is_current(platform.db.engine) else "pending"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    checks["writer"] = "ok" if platform.writer.running else "stopped"
    if platform.consumers_in_process:
        checks["consumers"] = "ok" if platform.runner.running else "stopped"
    else:
        checks["consumers"] = "external"
    return checks


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] | None = Field(
        default=None,
        description="Each check's state; only for the metrics token or an `ops:read` API key",
    )


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: a check failed"}},
)
async def readyz(
    request: Request, details: Annotated[bool, Depends(is_ops_reader)]
) -> JSONResponse:
    """Database reachable, migrations current, writer and consumers running.

    Anyone learns whether the process is ready; which check failed (and the database error's
    class) only the metrics token or an API key holding `ops:read`.
    """
    checks = await run_in_threadpool(_readiness, request.app.state.platform)
    ready = all(v in ("ok", "external") for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if details:
        body["checks"] = checks
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(require_ops_reader)],
    responses={
        200: {"description": "Prometheus text exposition format"},
        **error_responses(401, 403),
    },
)
async def metrics() -> Response:
    """Prometheus text exposition; needs the metrics token or an API key holding `ops:read`."""
    body = await run_in_threadpool(generate_latest, scrape_registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class PipelineLagCollector(Collector):
    """Consumer lag, read from the database at scrape time, for the platform now serving."""

    platform: Platform | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.platform is None:
            return
        lag = GaugeMetricFamily(
            "kizuna_pipeline_lag_events",
            "Events in the log not yet handled, per consumer.",
            labels=["consumer"],
        )
        try:
            with self.platform.db.read() as session:
                for state in consumer_states(
                    session, self.platform.event_log, self.platform.offsets, self.platform.consumers
                ):
                    lag.add_metric([state.name], state.lag)
        except Exception:  # a scrape must not fail because the database blinked
            return
        yield lag


LAG_COLLECTOR = PipelineLagCollector()
REGISTRY.register(LAG_COLLECTOR)
EXTRA_COLLECTORS.append(LAG_COLLECTOR)
