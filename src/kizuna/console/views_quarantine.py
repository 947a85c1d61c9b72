"""Quarantine: events a tracking plan held aside, replayed once the plan accepts them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from kizuna.console.web import (
    CanReadSources,
    ConsoleRoute,
    PostSourcesWrite,
    database,
    render,
    see_other,
)
from kizuna.ingestion import quarantine
from kizuna.privacy.personal_fields import redaction_of
from kizuna.privacy.redaction import payload_for, violations_for
from kizuna.sources.service import list_sources

router = APIRouter(route_class=ConsoleRoute)


@router.get("/quarantine")
def quarantine_page(
    request: Request,
    viewer: CanReadSources,
    source: Annotated[str, Query(max_length=64)] = "",
    replayed: Annotated[int | None, Query(ge=0)] = None,
    still: Annotated[int | None, Query(ge=0)] = None,
    discarded: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Held events with the reasons, newest first; the report of the last replay if any."""
    with database(request).read() as session:
        held = quarantine.list_quarantined(session, source_id=source or None, limit=200)
        sources = list_sources(session)
        redact = redaction_of(request, viewer.principal, session)  # SEC-2
    names = {s.id: s.name for s in sources}
    held_by_source: dict[str, int] = {}
    for row in held:
        held_by_source[row.source_id] = held_by_source.get(row.source_id, 0) + 1
    rows = [
        (row, violations_for(row.violations, redact) or [], payload_for(row.payload, redact))
        for row in held
    ]
    context = {
        "nav": "quarantine",
        "rows": rows,
        "names": names,
        "sources": sources,
        "held_by_source": sorted(held_by_source.items(), key=lambda kv: names.get(kv[0], kv[0])),
        "selected_source": source,
        "report": None if replayed is None else {"replayed": replayed, "still": still or 0},
        "discarded": discarded,
    }
    return render(request, viewer, "quarantine.html", context)


@router.post("/quarantine/replay")
def replay_source(
    request: Request,
    _: PostSourcesWrite,
    source_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Re-check every held event of a source (all sources when none) against its plan."""
    return _replay(request, source_id=source_id or None, ids=None)


@router.post("/quarantine/{quarantined_id}/replay")
def replay_one(quarantined_id: int, request: Request, _: PostSourcesWrite) -> Response:
    """Re-check one held event."""
    return _replay(request, source_id=None, ids=[quarantined_id])


def _replay(request: Request, *, source_id: str | None, ids: list[int] | None) -> Response:
    state = request.app.state
    with database(request).write() as session:
        report = quarantine.replay(session, state.event_log, source_id=source_id, ids=ids)
        session.commit()
    state.runner.wake()
    return see_other(
        "/console/quarantine",
        source=source_id,
        replayed=report.replayed,
        still=report.still_violating,
    )


@router.post("/quarantine/{quarantined_id}/discard")
def discard(quarantined_id: int, request: Request, _: PostSourcesWrite) -> Response:
    """Give up on a held event (it stays on record as discarded)."""
    with database(request).write() as session:
        quarantine.discard(session, quarantined_id)
        session.commit()
    return see_other("/console/quarantine", discarded=quarantined_id)
