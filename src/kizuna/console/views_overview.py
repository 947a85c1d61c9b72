"""The overview: what came in this week, the last 24 hours by channel, and the pipeline's health.

Each panel shows only when the viewer holds its scope, so every role has a landing page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from kizuna.activity.service import hourly_by_channel
from kizuna.console.charts import hourly_chart
from kizuna.console.web import ConsoleRoute, SignedIn, database, render
from kizuna.ingestion.quarantine import totals_by_source
from kizuna.kit.clock import utcnow
from kizuna.pipeline.service import consumer_states, count_dead_letters
from kizuna.sources.service import list_sources

router = APIRouter(route_class=ConsoleRoute)

OUTCOMES = ("accepted", "warned", "duplicate", "quarantined", "rejected", "rate_limited")


@router.get("/")
def overview(request: Request, viewer: SignedIn) -> Response:
    """The console's home page."""
    context: dict[str, Any] = {"nav": "overview", "outcomes": OUTCOMES}
    state = request.app.state
    with database(request).read() as session:
        if viewer.may("sources:read"):
            totals = totals_by_source(session, days=7)
            names = {s.id: s.name for s in list_sources(session)}
            context["source_totals"] = sorted(
                (
                    (names.get(source_id, source_id), counts, sum(counts.values()))
                    for source_id, counts in totals.items()
                ),
                key=lambda row: (-row[2], row[0]),
            )
        if viewer.may("events:read"):
            now = utcnow()
            context["chart"] = hourly_chart(hourly_by_channel(session, 24, now=now), now)
        if viewer.may("pipeline:read"):
            context["consumers"] = consumer_states(
                session, state.event_log, state.offsets, state.consumers
            )
            context["open_dead_letters"] = count_dead_letters(session, "open")
    return render(request, viewer, "overview.html", context)
